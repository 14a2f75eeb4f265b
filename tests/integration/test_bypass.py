"""Bypass rules and verified crawlers, end to end: a real ``antechamber serve``, set up with the official SDK.

The room queues everyone (``queue_all``), so a request that reaches the origin
did so only by a bypass; a bypassed request gets no cookie and is not counted.
Client addresses come through ``X-Forwarded-For`` from loopback, which the
gateway trusts. Geo rules read a small MaxMind-format database built here, and
crawler claims that only DNS can settle go to a real DNS server on loopback.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cloudflare
import httpx
import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from antechamber.db.accounts import DEFAULT_ACCOUNT_ID
from tests.dns_standin import DnsStandIn
from tests.integration.deployment import GREETING, cli
from tests.services import antechamber_command, free_port, http_origin, stop_process, wait_for_port

HOST = "shop.example.com"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
BINGBOT = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


DISABLED = 'http.request.uri.path eq "/off"'
RULES = [
    "ip.src in $office",
    "ip.src in {172.16.5.0/24 2001:db8:5::/48}",
    'starts_with(http.request.uri.path, "/static/")',
    'http.request.uri.path eq "/health"',
    'any(http.request.headers["x-partner-key"][*] eq "k-123")',
    'http.request.uri.args["preview"][0] eq "yes"',
    'ip.src.country eq "FR" and http.request.method eq "GET"',
    "ip.src.asnum eq 64500 and ssl",
    DISABLED,
]


@dataclass
class Site:
    """The running server, its SDK client, the room and the DNS stand-in."""

    gateway: str
    sdk: cloudflare.Cloudflare
    zone_id: str
    room_id: str
    dns: DnsStandIn


def build_geo_database(path: Path) -> None:
    """A City-style database: 203.0.113.0/24 is in Paris, 198.51.100.0/24 in New York (and in AS64500)."""
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-City")
    writer.insert_network(
        IPSet(["203.0.113.0/24"]),
        {
            "country": {"iso_code": "FR", "is_in_european_union": True},
            "continent": {"code": "EU"},
            "city": {"names": {"en": "Paris"}},
        },
    )
    writer.insert_network(
        IPSet(["198.51.100.0/24"]),
        {"country": {"iso_code": "US"}, "continent": {"code": "NA"}, "autonomous_system_number": 64500},
    )
    writer.to_db_file(str(path))


def googlebot_address() -> str:
    """An IPv4 address inside the shipped Googlebot ranges."""
    ranges = json.loads(Path("src/antechamber/crawlers/ranges.json").read_text())
    prefix = next(p for p in ranges["crawlers"]["googlebot"]["prefixes"] if ":" not in p)
    return str(ipaddress.ip_network(prefix)[1])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("bypass")
    build_geo_database(tmp / "geo.mmdb")
    data = ["--data-dir", str(tmp / "data")]
    zone_id = json.loads(cli("zones", "create", "example.com", *data, "--json"))["id"]
    token = json.loads(cli("tokens", "create", "--scope", "write", *data, "--json"))["token"]
    gateway_port, api_port = free_port(), free_port()
    with http_origin() as origin, DnsStandIn() as dns:
        args = [
            *data,
            "--api",
            f"127.0.0.1:{api_port}",
            "--gateway",
            f"127.0.0.1:{gateway_port}",
            "--origin",
            origin,
            "--min-user-limit",
            "1",
            "--geoip",
            str(tmp / "geo.mmdb"),
            "--crawler-dns",
            f"127.0.0.1:{dns.port}",
            "--log-level",
            "warning",
        ]
        with open(tmp / "serve.log", "ab") as log:
            process = subprocess.Popen(antechamber_command("serve", *args), stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port("127.0.0.1", gateway_port, timeout=60)
            wait_for_port("127.0.0.1", api_port, timeout=60)
            sdk = cloudflare.Cloudflare(
                api_token=token, base_url=f"http://127.0.0.1:{api_port}/client/v4", max_retries=0
            )
            room = sdk.waiting_rooms.create(
                zone_id=zone_id,
                host=HOST,
                name="sale",
                new_users_per_minute=1,
                total_active_users=1,
                queue_all=True,
            )
            office = sdk.rules.lists.create(account_id=DEFAULT_ACCOUNT_ID, kind="ip", name="office")
            sdk.rules.lists.items.create(str(office.id), account_id=DEFAULT_ACCOUNT_ID, body=[{"ip": "10.20.0.0/16"}])
            sdk.waiting_rooms.rules.update(
                str(room.id),
                zone_id=zone_id,
                rules=[
                    {"action": "bypass_waiting_room", "expression": text, "enabled": text != DISABLED} for text in RULES
                ],
            )
            yield Site(f"http://127.0.0.1:{gateway_port}", sdk, zone_id, str(room.id), dns)
        finally:
            stop_process(process)


def visit(
    site: Site, path: str = "/", *, ip: str = "192.0.2.200", agent: str = BROWSER, **headers: str
) -> httpx.Response:
    """One request as a visitor at ``ip`` (through a trusted proxy's X-Forwarded-For)."""
    sent = {"host": HOST, "user-agent": agent, "x-forwarded-for": ip, **headers}
    return httpx.get(site.gateway + path, headers=sent, timeout=10)


def bypassed(response: httpx.Response) -> bool:
    """Reached the origin without the room noticing: the origin's answer and no room cookie."""
    return response.status_code == 200 and response.text == GREETING and "set-cookie" not in response.headers


def eventually(check: object, timeout: float = 15.0) -> None:
    """Wait for a configuration change to reach the gateway (it follows the store)."""
    deadline = time.monotonic() + timeout
    while not callable(check) or not check():
        assert time.monotonic() < deadline, "the gateway never took the change"
        time.sleep(0.2)


@pytest.mark.parametrize(
    ("what", "path", "ip", "headers"),
    [
        ("a named IP list", "/", "10.20.3.4", {}),
        ("a CIDR set", "/", "172.16.5.9", {}),
        ("an IPv6 CIDR", "/", "2001:db8:5::7", {}),
        ("a path prefix", "/static/app.js", "192.0.2.200", {}),
        ("an exact path", "/health", "192.0.2.200", {}),
        ("a header", "/", "192.0.2.200", {"x-partner-key": "k-123"}),
        ("a query argument", "/?preview=yes", "192.0.2.200", {}),
        ("geo: the country", "/", "203.0.113.50", {}),
    ],
)
def test_matching_requests_bypass_the_room(site: Site, what: str, path: str, ip: str, headers: dict[str, str]) -> None:
    """A request matching an enabled rule reaches the origin under queue_all, with no cookie."""
    eventually(lambda: bypassed(visit(site, "/health")))
    assert bypassed(visit(site, path, ip=ip, **headers)), what


@pytest.mark.parametrize(
    ("what", "path", "ip", "headers"),
    [
        ("an address outside every set", "/", "192.0.2.200", {}),
        ("a disabled rule", "/off", "192.0.2.200", {}),
        ("a wrong header value", "/", "192.0.2.200", {"x-partner-key": "k-999"}),
        ("the argument with another value", "/?preview=no", "192.0.2.200", {}),
        ("a country no rule names", "/", "198.51.100.9", {}),  # the ASN rule also wants ssl
        ("a path that only starts like one", "/staticfoo", "192.0.2.200", {}),
    ],
)
def test_other_requests_wait(site: Site, what: str, path: str, ip: str, headers: dict[str, str]) -> None:
    """A request no enabled rule matches is held by the room like anyone else."""
    eventually(lambda: bypassed(visit(site, "/health")))
    response = visit(site, path, ip=ip, **headers)
    assert not bypassed(response), what
    assert "set-cookie" in response.headers


def test_bypassed_requests_are_not_counted(site: Site) -> None:
    """Many bypassed requests leave the room's counts where they were."""
    eventually(lambda: bypassed(visit(site, "/health")))
    before = site.sdk.waiting_rooms.statuses.get(site.room_id, zone_id=site.zone_id)
    for index in range(30):
        assert bypassed(visit(site, f"/static/{index}.css", ip=f"192.0.2.{index + 1}"))
    after = site.sdk.waiting_rooms.statuses.get(site.room_id, zone_id=site.zone_id)
    assert after.estimated_queued_users == before.estimated_queued_users
    assert after.estimated_total_active_users == before.estimated_total_active_users


def test_list_changes_reach_the_gateway(site: Site) -> None:
    """An item added to a list through the Lists API takes effect without touching the rules."""
    office = next(found for found in site.sdk.rules.lists.list(account_id=DEFAULT_ACCOUNT_ID) if found.name == "office")
    assert not bypassed(visit(site, "/", ip="10.30.0.1"))
    site.sdk.rules.lists.items.create(str(office.id), account_id=DEFAULT_ACCOUNT_ID, body=[{"ip": "10.30.0.0/24"}])
    eventually(lambda: bypassed(visit(site, "/", ip="10.30.0.1")))


class TestCrawlers:
    @pytest.fixture(autouse=True)
    def _crawler_bypass(self, site: Site) -> Iterator[None]:
        site.dns.ptr["192.0.2.77"] = ["msnbot-192-0-2-77.search.msn.com"]
        site.dns.addresses["msnbot-192-0-2-77.search.msn.com"] = ["192.0.2.77"]
        site.dns.ptr["192.0.2.78"] = ["crawler.search.msn.com.evil.example"]
        site.dns.addresses["crawler.search.msn.com.evil.example"] = ["192.0.2.78"]
        site.sdk.waiting_rooms.settings.update(zone_id=site.zone_id, search_engine_crawler_bypass=True)
        eventually(lambda: bypassed(visit(site, ip=googlebot_address(), agent=GOOGLEBOT)))
        yield
        site.sdk.waiting_rooms.settings.update(zone_id=site.zone_id, search_engine_crawler_bypass=False)
        eventually(lambda: not bypassed(visit(site, ip=googlebot_address(), agent=GOOGLEBOT)))

    def test_googlebot_from_its_published_range_passes(self, site: Site) -> None:
        """Googlebot's User-Agent from an address in Google's published ranges is let through, uncounted."""
        assert bypassed(visit(site, "/products", ip=googlebot_address(), agent=GOOGLEBOT))

    def test_a_spoofed_user_agent_waits(self, site: Site) -> None:
        """Googlebot's User-Agent from any other address is queued like everyone else."""
        response = visit(site, "/products", ip="192.0.2.90", agent=GOOGLEBOT)
        assert not bypassed(response) and "set-cookie" in response.headers

    def test_a_browser_from_a_crawler_address_waits(self, site: Site) -> None:
        """An address in Google's ranges is not enough without the crawler's claim."""
        assert not bypassed(visit(site, "/", ip=googlebot_address(), agent=BROWSER))

    def test_bingbot_confirmed_by_reverse_and_forward_dns_passes(self, site: Site) -> None:
        """A crawler outside the shipped ranges passes once its PTR name, in the engine's domain, resolves back."""
        assert bypassed(visit(site, "/", ip="192.0.2.77", agent=BINGBOT))
        asked = len(site.dns.queries)
        assert bypassed(visit(site, "/", ip="192.0.2.77", agent=BINGBOT))
        assert len(site.dns.queries) == asked  # the answer is cached

    def test_bingbot_with_a_lookalike_name_waits(self, site: Site) -> None:
        """A PTR name that merely contains the engine's domain does not verify."""
        assert not bypassed(visit(site, "/", ip="192.0.2.78", agent=BINGBOT))
