"""Verified search-engine crawlers: User-Agent claims, published ranges, the ranges file and its CLI, FCrDNS."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from antechamber.crawlers import (
    KNOWN_CRAWLERS,
    CrawlerRanges,
    CrawlerVerifier,
    ForwardConfirmedDns,
    RangesFileError,
    RangeSource,
    claimed_crawler,
    load_crawler_ranges,
)
from antechamber.crawlers.host_cache import ExpiringCache
from antechamber.crawlers.known import GOOGLEBOT, USER_AGENT_HINTS
from antechamber.crawlers.ranges_file import (
    override_path,
    parse_document,
    parse_published,
    shipped_sources,
    update_override,
)
from antechamber.rules import addresses
from antechamber.rules.addresses import AddressSet, network_range
from tests.dns_standin import DnsStandIn

# Real User-Agent strings, as each engine documents them.
GOOGLEBOT_SMARTPHONE = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)
GOOGLEBOT_DESKTOP = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GOOGLEBOT_IMAGE = "Googlebot-Image/1.0"
STOREBOT = (
    "Mozilla/5.0 (X11; Linux x86_64; Storebot-Google/1.0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/79.0.3945.88 Safari/537.36"
)
ADSBOT = "AdsBot-Google (+http://www.google.com/adsbot.html)"
ADSENSE = "Mediapartners-Google"
BINGBOT_UA = (
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) "
    "Chrome/116.0.1938.76 Safari/537.36"
)
APPLEBOT_UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 "
    "Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)"
)
DUCKDUCKBOT_UA = "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)"
YANDEXBOT_UA = "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)"
BAIDUSPIDER_UA = "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)"
BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 "
    "Edg/131.0.0.0",
    "curl/8.5.0",
    "",
]

# No published range holds these: only DNS can verify a claim from them.
UNLISTED_V4 = "198.51.100.7"
UNLISTED_V6 = "2001:db8::7"
CLI = Path(sys.executable).parent / "antechamber"


class TestClaims:
    @pytest.mark.parametrize(
        ("user_agent", "crawler"),
        [
            (GOOGLEBOT_SMARTPHONE, "googlebot"),
            (GOOGLEBOT_DESKTOP, "googlebot"),
            (GOOGLEBOT_IMAGE, "googlebot"),
            (STOREBOT, "googlebot"),
            (ADSBOT, "google-special"),
            (ADSENSE, "google-special"),
            (BINGBOT_UA, "bingbot"),
            (APPLEBOT_UA, "applebot"),
            (DUCKDUCKBOT_UA, "duckduckbot"),
            (YANDEXBOT_UA, "yandexbot"),
            (BAIDUSPIDER_UA, "baiduspider"),
        ],
    )
    def test_real_crawler_user_agents_claim_their_crawler(self, user_agent: str, crawler: str) -> None:
        """Each engine's documented User-Agent claims that engine's crawler."""
        claimed = claimed_crawler(user_agent)
        assert claimed is not None
        assert crawler == claimed.name

    @pytest.mark.parametrize("user_agent", BROWSERS)
    def test_browsers_claim_nothing(self, user_agent: str) -> None:
        """Browsers, tools and an empty User-Agent claim no crawler."""
        assert claimed_crawler(user_agent) is None

    def test_claims_ignore_case(self) -> None:
        """A token matches in any case (a claim is only a claim; verification is what counts)."""
        claimed = claimed_crawler("mozilla/5.0 (compatible; GOOGLEBOT/2.1)")
        assert claimed is not None
        assert "googlebot" == claimed.name

    def test_every_token_contains_a_hint(self) -> None:
        """The quick rejection of browsers never rejects a crawler: every token contains one of the hints."""
        tokens = [token.lower() for crawler in KNOWN_CRAWLERS for token in crawler.user_agent_tokens]
        assert [] == [token for token in tokens if not any(hint in token for hint in USER_AGENT_HINTS)]

    @pytest.mark.parametrize(
        ("hostname", "owned"),
        [
            ("crawl-66-249-66-1.googlebot.com", True),
            ("geo-crawl-35-247-243-240.geo.googlebot.com.", True),
            ("rate-limited-proxy-66-249-90-77.google.com", True),
            ("CRAWL-66-249-66-1.GOOGLEBOT.COM", True),
            ("googlebot.com", False),
            ("crawl-1-2-3-4.evilgooglebot.com", False),
            ("crawl-66-249-66-1.googlebot.com.evil.example", False),
            ("1.2.3.4.bc.googleusercontent.com", False),
        ],
    )
    def test_google_host_names(self, hostname: str, owned: bool) -> None:
        """Googlebot's host names lie strictly under googlebot.com or google.com; Cloud VMs' names do not count."""
        assert owned == GOOGLEBOT.owns_host(hostname)


@pytest.fixture(scope="module")
def shipped() -> CrawlerRanges:
    """The ranges shipped in the package."""
    return load_crawler_ranges(None)


class TestRanges:
    @pytest.mark.parametrize(
        ("ip", "inside"),
        [
            ("66.249.64.0", True),  # first address of 66.249.64.0/27
            ("66.249.72.95", True),  # last address of 66.249.72.64/27
            ("66.249.72.96", False),  # 66.249.72.96/27 is not published
            ("66.249.72.127", False),
            ("66.249.72.128", True),
            ("192.178.5.31", True),  # last of 192.178.5.0/27
            ("192.178.5.32", False),
            ("35.247.243.255", True),  # last of a /28
            ("35.247.244.0", False),
            ("0.0.0.0", False),
            ("255.255.255.255", False),
        ],
    )
    def test_googlebot_ipv4_edges(self, shipped: CrawlerRanges, ip: str, inside: bool) -> None:
        """A published prefix covers its first and last address and nothing beside it."""
        assert inside == shipped.contains("googlebot", ip)

    @pytest.mark.parametrize(
        ("ip", "inside"),
        [
            ("2001:4860:4801:10::", True),
            ("2001:4860:4801:10:ffff:ffff:ffff:ffff", True),
            ("2001:4860:4801:11::1", False),  # 2001:4860:4801:11::/64 is not published
            ("2001:4860:4801:12::1", True),
            ("2001:4860:4801:f::", True),
            ("2001:4860:4801:fff::1", False),
            ("::", False),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", False),
        ],
    )
    def test_googlebot_ipv6_edges(self, shipped: CrawlerRanges, ip: str, inside: bool) -> None:
        """IPv6 prefixes are looked up the same way, /64 by /64."""
        assert inside == shipped.contains("googlebot", ip)

    def test_ipv4_mapped_ipv6_counts_as_ipv4(self, shipped: CrawlerRanges) -> None:
        """A dual-stack listener's ::ffff:a.b.c.d is the IPv4 address a.b.c.d."""
        assert shipped.contains("googlebot", "::ffff:66.249.64.1")

    def test_ranges_belong_to_one_crawler(self, shipped: CrawlerRanges) -> None:
        """Googlebot's addresses do not verify Bingbot, and the other way round."""
        assert (True, False) == (
            shipped.contains("bingbot", "157.55.39.7"),
            shipped.contains("googlebot", "157.55.39.7"),
        )
        assert not shipped.contains("bingbot", "66.249.64.1")

    def test_single_addresses(self, shipped: CrawlerRanges) -> None:
        """DuckDuckBot publishes single addresses: exactly those match."""
        assert (True, False) == (
            shipped.contains("duckduckbot", "20.191.44.16"),
            shipped.contains("duckduckbot", "20.191.44.17"),
        )

    @pytest.mark.parametrize("ip", ["not an address", "", "66.249.64", "66.249.64.1 ", "2001:4860:4801:10::g"])
    def test_anything_but_an_address_is_outside(self, shipped: CrawlerRanges, ip: str) -> None:
        """A malformed address is in no range, and raises nothing."""
        assert not shipped.contains("googlebot", ip)

    def test_crawler_without_ranges_covers_nothing(self, shipped: CrawlerRanges) -> None:
        """Yandex publishes no ranges: its claims need DNS."""
        assert not shipped.contains("yandexbot", "66.249.64.1")

    def test_overlapping_and_adjacent_prefixes_merge(self) -> None:
        """Overlapping and touching prefixes become one interval; a gap keeps two."""
        ranges = CrawlerRanges(
            {"bingbot": _source("bingbot", ["40.77.0.0/24", "40.77.0.128/25", "40.77.1.0/24", "40.77.3.0/24"])}
        )
        assert [True, True, False, True] == [
            ranges.contains("bingbot", ip) for ip in ("40.77.0.0", "40.77.1.255", "40.77.2.0", "40.77.3.0")
        ]
        assert 2 == len(AddressSet(map(network_range, _source("x", ["40.77.0.0/23", "40.77.3.0/24"]).networks())))

    def test_address_cache_is_bounded(self) -> None:
        """The shared parsed-address cache never grows past its bound, and answers stay right after it empties."""
        ranges = CrawlerRanges({"bingbot": _source("bingbot", ["40.77.0.0/24"])})
        answers = [ranges.contains("bingbot", f"40.{second}.{third}.1") for second in (77, 78) for third in range(5000)]
        assert answers.count(True) == 1 and answers[0]
        assert len(addresses._parsed) <= addresses._PARSED_MAX

    def test_shipped_ranges_say_where_and_when(self) -> None:
        """Every shipped crawler's ranges name their URL, their date and how they were obtained."""
        sources = shipped_sources()
        assert {"googlebot", "google-special", "bingbot", "applebot", "duckduckbot"} == set(sources)
        for entry in sources.values():
            assert entry.source.startswith("https://")
            assert entry.taken[:4].isdigit()
            assert entry.via
            assert entry.prefixes

    def test_crawlers_without_dns_names_have_ranges(self) -> None:
        """A crawler verifiable only by address ships its addresses."""
        sources = shipped_sources()
        assert [] == [crawler.name for crawler in KNOWN_CRAWLERS if not crawler.domains and crawler.name not in sources]


class TestRangesFile:
    @pytest.mark.parametrize(
        ("prefix", "message"),
        [
            ("10.0.0.0/8", "not a public network"),
            ("192.168.1.0/24", "not a public network"),
            ("0.0.0.0/0", "wider than /8"),
            ("2000::/3", "wider than /16"),
            ("66.249.64.0/33", "not a network"),
            ("googlebot", "not a network"),
        ],
    )
    def test_unsafe_or_malformed_prefixes_are_refused(self, prefix: str, message: str) -> None:
        """A private, catch-all or malformed prefix would let false claims through: the file is refused."""
        with pytest.raises(RangesFileError, match=message):
            parse_document(_document({"googlebot": [prefix]}), origin="test")

    def test_unknown_crawler_is_refused(self) -> None:
        """A crawler name the verifier does not know is a typo, not a new crawler."""
        with pytest.raises(RangesFileError, match="unknown crawler 'gogglebot'"):
            parse_document(_document({"gogglebot": ["66.249.64.0/27"]}), origin="test")

    def test_prefixes_are_normalised(self) -> None:
        """Host bits are cleared and duplicates dropped."""
        sources = parse_document(_document({"bingbot": ["157.55.39.7/24", "157.55.39.0/24"]}), origin="test")
        assert ("157.55.39.0/24",) == sources["bingbot"].prefixes

    def test_published_file_keeps_its_creation_time(self) -> None:
        """An engine's file gives its own creationTime as the date the ranges were taken."""
        document = {"creationTime": "2026-11-20T10:00:00.000000", "prefixes": [{"ipv4Prefix": "66.249.64.0/27"}]}
        entry = parse_published(document, crawler="googlebot", source="https://x", via="test", now=datetime.now(UTC))
        assert ("2026-11-20T10:00:00.000000", ("66.249.64.0/27",)) == (entry.taken, entry.prefixes)

    def test_published_file_without_date_is_dated_by_the_update(self) -> None:
        """Without creationTime, the moment of the update is the date recorded."""
        now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
        entry = parse_published(
            {"prefixes": [{"ipv6Prefix": "2001:4860:4801:10::/64"}]},
            crawler="googlebot",
            source="https://x",
            via="test",
            now=now,
        )
        assert "2026-11-25T12:00:00Z" == entry.taken

    def test_update_keeps_other_crawlers(self, tmp_path: Path) -> None:
        """Two updates for two crawlers leave both in the data directory's file, the shipped ones beside them."""
        _write(tmp_path / "bing.json", {"prefixes": [{"ipv4Prefix": "157.55.40.0/24"}]})
        _write(tmp_path / "apple.json", {"prefixes": [{"ipv4Prefix": "17.58.101.0/24"}]})
        update_override(tmp_path / "data", tmp_path / "bing.json", crawler="bingbot")
        update_override(tmp_path / "data", tmp_path / "apple.json", crawler="applebot")
        ranges = load_crawler_ranges(tmp_path / "data")
        assert [True, False, True, True] == [
            ranges.contains("bingbot", "157.55.40.1"),
            ranges.contains("bingbot", "157.55.39.1"),
            ranges.contains("applebot", "17.58.101.179"),
            ranges.contains("googlebot", "66.249.64.1"),
        ]


class TestCli:
    def test_show_lists_every_crawler_with_count_and_date(self, tmp_path: Path) -> None:
        """`crawlers show` prints each crawler's range count, date and origin; crawlers without ranges say so."""
        lines = _cli("show", "--data-dir", str(tmp_path)).splitlines()
        assert [crawler.name for crawler in KNOWN_CRAWLERS] == [line.split()[0] for line in lines]
        assert ["307", "ranges", "(165", "IPv4,", "142", "IPv6)", "taken", "2026-03-16T15:46:38.000000", "shipped"] == (
            lines[0].split()[1:10]
        )
        assert lines[0].endswith("https://developers.google.com/static/search/apis/ipranges/googlebot.json")
        assert "yandexbot       no published ranges: reverse DNS only (yandex.ru, yandex.net, yandex.com)" in lines

    def test_update_round_trip(self, tmp_path: Path) -> None:
        """`crawlers update` puts an engine's file in the data directory; `show` and a new verifier use it."""
        data = tmp_path / "data"
        published = {
            "creationTime": "2026-11-20T10:00:00.000000",
            "prefixes": [{"ipv4Prefix": "66.249.72.96/27"}, {"ipv6Prefix": "2001:4860:4801:11::/64"}],
        }
        _write(tmp_path / "googlebot.json", published)
        out = _cli("update", str(tmp_path / "googlebot.json"), "--crawler", "googlebot", "--data-dir", str(data))
        assert "googlebot: 2 ranges taken 2026-11-20T10:00:00.000000\n" == out
        rows = {row["crawler"]: row for row in json.loads(_cli("show", "--json", "--data-dir", str(data)))}
        assert [crawler.name for crawler in KNOWN_CRAWLERS] == list(rows)
        google, bing = rows["googlebot"], rows["bingbot"]
        assert (1, 1, "2026-11-20T10:00:00.000000", "data-dir") == (
            google["ipv4"],
            google["ipv6"],
            google["taken"],
            google["origin"],
        )
        assert (28, "2024-01-03T10:00:00.121331", "shipped") == (bing["ipv4"], bing["taken"], bing["origin"])
        assert (None, None) == (rows["yandexbot"]["origin"], rows["yandexbot"]["taken"])
        verifier = CrawlerVerifier.from_data_dir(data)
        assert [True, True, None, True] == [
            verifier.known("66.249.72.100", GOOGLEBOT_DESKTOP),
            verifier.known("2001:4860:4801:11::5", GOOGLEBOT_DESKTOP),
            # Googlebot's shipped ranges are replaced, so an address only they held now needs DNS.
            verifier.known("66.249.64.1", GOOGLEBOT_DESKTOP),
            # Bingbot's are not.
            verifier.known("157.55.39.7", BINGBOT_UA),
        ]

    def test_update_from_a_ranges_file(self, tmp_path: Path) -> None:
        """A ranges file (the data directory's own format) updates every crawler it holds."""
        data = tmp_path / "data"
        _write(tmp_path / "ranges.json", _document({"bingbot": ["157.55.40.0/24"], "applebot": ["17.58.101.0/24"]}))
        exit_code, out, _ = _cli_in_process("update", str(tmp_path / "ranges.json"), "--data-dir", str(data))
        assert 0 == exit_code
        assert {"applebot: 1 ranges taken 2026-01-01", "bingbot: 1 ranges taken 2026-01-01"} == set(out.splitlines())
        assert {"applebot", "bingbot"} == set(json.loads(override_path(data).read_text())["crawlers"])

    def test_refused_update_leaves_the_file_alone(self, tmp_path: Path) -> None:
        """A file with a private prefix, or an engine's file with no --crawler, exits 1 and writes nothing."""
        data = tmp_path / "data"
        _write(tmp_path / "bad.json", {"prefixes": [{"ipv4Prefix": "10.0.0.0/8"}]})
        refused = _cli_in_process("update", str(tmp_path / "bad.json"), "--crawler", "bingbot", "--data-dir", str(data))
        unnamed = _cli_in_process("update", str(tmp_path / "bad.json"), "--data-dir", str(data))
        assert (1, 1) == (refused[0], unnamed[0])
        assert "10.0.0.0/8 is not a public network" in refused[2]
        assert "--crawler" in unnamed[2]
        assert not override_path(data).exists()


class TestVerifier:
    def test_claim_from_published_range_is_verified_without_dns(self, standin: DnsStandIn) -> None:
        """A claim from the engine's published ranges is verified at once, with no DNS query."""
        verifier = _verifier(standin)
        assert [True, True, True] == [
            verifier.known("66.249.64.1", GOOGLEBOT_SMARTPHONE),
            verifier.known("157.55.39.7", BINGBOT_UA),
            verifier.known("2001:4860:4801:10::1", GOOGLEBOT_DESKTOP),
        ]
        assert [] == standin.queries

    def test_no_claim_is_not_a_crawler(self, standin: DnsStandIn) -> None:
        """A browser from a Googlebot address is a visitor: the address alone verifies nothing."""
        assert _verifier(standin).known("66.249.64.1", BROWSERS[0]) is False

    def test_address_only_crawler_from_elsewhere_is_refused(self, standin: DnsStandIn) -> None:
        """DuckDuckBot from an unlisted address is refused without DNS: DuckDuckGo publishes no host names."""
        assert _verifier(standin).known(UNLISTED_V4, DUCKDUCKBOT_UA) is False
        assert [] == standin.queries

    async def test_forward_confirmed_name_verifies(self, standin: DnsStandIn) -> None:
        """PTR under googlebot.com whose A record is the address: verified, after exactly two queries."""
        standin.ptr[UNLISTED_V4] = ["crawl-198-51-100-7.googlebot.com"]
        standin.addresses["crawl-198-51-100-7.googlebot.com"] = [UNLISTED_V4]
        verifier = _verifier(standin)
        assert verifier.known(UNLISTED_V4, GOOGLEBOT_DESKTOP) is None
        assert await verifier.verify(UNLISTED_V4, GOOGLEBOT_DESKTOP)
        assert verifier.known(UNLISTED_V4, GOOGLEBOT_DESKTOP) is True
        assert ["PTR", "A"] == [kind for _, kind in standin.queries]

    async def test_ipv6_forward_confirmation_uses_aaaa(self, standin: DnsStandIn) -> None:
        """An IPv6 crawler's name is confirmed by its AAAA record."""
        standin.ptr[UNLISTED_V6] = ["yandex-7.spider.yandex.com"]
        standin.addresses["yandex-7.spider.yandex.com"] = ["198.51.100.99", UNLISTED_V6]
        assert await _verifier(standin).verify(UNLISTED_V6, YANDEXBOT_UA)
        assert ["PTR", "AAAA"] == [kind for _, kind in standin.queries]

    async def test_cached_answer_needs_no_second_query(self, standin: DnsStandIn) -> None:
        """Later requests from a confirmed address use the cache: the stand-in is asked nothing more."""
        standin.ptr[UNLISTED_V4] = ["crawl-198-51-100-7.googlebot.com"]
        standin.addresses["crawl-198-51-100-7.googlebot.com"] = [UNLISTED_V4]
        verifier = _verifier(standin)
        results = [await verifier.verify(UNLISTED_V4, GOOGLEBOT_DESKTOP) for _ in range(5)]
        assert [True] * 5 == results
        assert 2 == len(standin.queries)

    async def test_concurrent_lookups_of_one_address_are_coalesced(self, standin: DnsStandIn) -> None:
        """Twenty requests at once from one unconfirmed address cost one PTR and one A query."""
        standin.ptr[UNLISTED_V4] = ["crawl-198-51-100-7.googlebot.com"]
        standin.addresses["crawl-198-51-100-7.googlebot.com"] = [UNLISTED_V4]
        verifier = _verifier(standin)
        results = await asyncio.gather(*(verifier.verify(UNLISTED_V4, GOOGLEBOT_DESKTOP) for _ in range(20)))
        assert [True] * 20 == results
        assert ["PTR", "A"] == [kind for _, kind in standin.queries]

    async def test_forward_lookup_without_the_address_refutes(self, standin: DnsStandIn) -> None:
        """A PTR in Google's domain whose A records lack the address is someone else's PTR: refused, and cached."""
        standin.ptr[UNLISTED_V4] = ["crawl-66-249-66-1.googlebot.com"]
        standin.addresses["crawl-66-249-66-1.googlebot.com"] = ["66.249.66.1"]
        verifier = _verifier(standin)
        assert not await verifier.verify(UNLISTED_V4, GOOGLEBOT_DESKTOP)
        assert verifier.known(UNLISTED_V4, GOOGLEBOT_DESKTOP) is False
        assert ["PTR", "A"] == [kind for _, kind in standin.queries]

    @pytest.mark.parametrize(
        "hostname",
        [
            "crawl-198-51-100-7.evilgooglebot.com",
            "crawl.googlebot.com.evil.example",
            "198-51-100-7.bc.googleusercontent.com",
        ],
    )
    async def test_name_outside_the_domains_refutes_without_forward_lookup(
        self, standin: DnsStandIn, hostname: str
    ) -> None:
        """A PTR outside the engine's domains refutes the claim, even if it resolves back; no forward query is made."""
        standin.ptr[UNLISTED_V4] = [hostname]
        standin.addresses[hostname] = [UNLISTED_V4]
        assert not await _verifier(standin).verify(UNLISTED_V4, GOOGLEBOT_DESKTOP)
        assert ["PTR"] == [kind for _, kind in standin.queries]

    async def test_no_reverse_name_refutes(self, standin: DnsStandIn) -> None:
        """A claim from an address with no PTR record waits like everyone else."""
        assert not await _verifier(standin).verify(UNLISTED_V4, GOOGLEBOT_SMARTPHONE)

    async def test_one_engine_name_does_not_verify_another(self, standin: DnsStandIn) -> None:
        """A confirmed googlebot.com name does not verify a Bingbot claim, and the cached lookup answers it."""
        standin.ptr[UNLISTED_V4] = ["crawl-198-51-100-7.googlebot.com"]
        standin.addresses["crawl-198-51-100-7.googlebot.com"] = [UNLISTED_V4]
        verifier = _verifier(standin)
        assert await verifier.verify(UNLISTED_V4, GOOGLEBOT_DESKTOP)
        assert verifier.known(UNLISTED_V4, BINGBOT_UA) is False
        assert 2 == len(standin.queries)

    async def test_silent_server_times_out_within_the_limit(self, standin: DnsStandIn) -> None:
        """A server that never answers: refused within the time limit, and remembered as refused for a while."""
        standin.silent = True
        verifier = _verifier(standin, time_limit=0.3)
        started = time.monotonic()
        assert not await verifier.verify(UNLISTED_V4, GOOGLEBOT_DESKTOP)
        elapsed = time.monotonic() - started
        assert elapsed < 0.3 + 0.5, elapsed  # the limit, plus scheduling slack on a busy machine
        assert standin.queries  # it was asked, and said nothing
        assert verifier.known(UNLISTED_V4, GOOGLEBOT_DESKTOP) is False

    async def test_answers_expire(self, standin: DnsStandIn) -> None:
        """After its TTL a confirmed address is looked up again."""
        standin.ptr[UNLISTED_V4] = ["crawl-198-51-100-7.googlebot.com"]
        standin.addresses["crawl-198-51-100-7.googlebot.com"] = [UNLISTED_V4]
        now = [1000.0]
        verifier = _verifier(standin, clock=lambda: now[0])
        assert await verifier.verify(UNLISTED_V4, GOOGLEBOT_DESKTOP)
        now[0] += 3600.0
        assert verifier.known(UNLISTED_V4, GOOGLEBOT_DESKTOP) is None
        assert await verifier.verify(UNLISTED_V4, GOOGLEBOT_DESKTOP)
        assert 4 == len(standin.queries)

    async def test_too_many_pending_lookups_refuse_without_caching(self, standin: DnsStandIn) -> None:
        """Past the bound on lookups under way, a claim is not verified this time and not remembered."""
        standin.ptr[UNLISTED_V4] = ["crawl-198-51-100-7.googlebot.com"]
        standin.addresses["crawl-198-51-100-7.googlebot.com"] = [UNLISTED_V4]
        verifier = _verifier(standin, max_pending=0)
        assert not await verifier.verify(UNLISTED_V4, GOOGLEBOT_DESKTOP)
        assert verifier.known(UNLISTED_V4, GOOGLEBOT_DESKTOP) is None
        assert [] == standin.queries

    async def test_malformed_address_is_refused(self, standin: DnsStandIn) -> None:
        """A client address that is not an address is no crawler, and asks DNS nothing."""
        verifier = _verifier(standin)
        assert verifier.known("unknown", GOOGLEBOT_DESKTOP) is False
        assert not await verifier.verify("unknown", GOOGLEBOT_DESKTOP)
        assert [] == standin.queries


class TestExpiringCache:
    def test_oldest_entry_goes_when_full(self) -> None:
        """A full cache drops its oldest entry for a new one."""
        cache: ExpiringCache[str, int] = ExpiringCache(2, clock=lambda: 0.0)
        for key, value in (("a", 1), ("b", 2), ("c", 3)):
            cache.put(key, value, ttl=10)
        assert [None, 2, 3] == [cache.get(key) for key in "abc"]
        assert 2 == len(cache)

    def test_entries_expire(self) -> None:
        """An entry is gone once its TTL has passed."""
        now = [0.0]
        cache: ExpiringCache[str, int] = ExpiringCache(2, clock=lambda: now[0])
        cache.put("a", 1, ttl=10)
        now[0] = 9.9
        assert 1 == cache.get("a")
        now[0] = 10.0
        assert cache.get("a") is None


@pytest.fixture
def standin() -> Iterator[DnsStandIn]:
    """A DNS server on a free loopback port, empty until the test fills it."""
    with DnsStandIn() as server:
        yield server


def _verifier(
    standin: DnsStandIn, *, time_limit: float = 2.0, max_pending: int = 64, clock: Callable[[], float] = time.monotonic
) -> CrawlerVerifier:
    """A verifier with the shipped ranges that asks the stand-in."""
    dns = ForwardConfirmedDns(nameserver="127.0.0.1", port=standin.port, time_limit=time_limit)
    return CrawlerVerifier(load_crawler_ranges(None), dns=dns, max_pending=max_pending, clock=clock)


def _source(crawler: str, prefixes: list[str]) -> RangeSource:
    return RangeSource(crawler, "https://example.com/ranges.json", "2026-01-01", "test", tuple(prefixes))


def _document(crawlers: dict[str, list[str]]) -> dict[str, object]:
    return {
        "format": 1,
        "crawlers": {
            name: {
                "source": "https://example.com/ranges.json",
                "taken": "2026-01-01",
                "via": "test",
                "prefixes": prefixes,
            }
            for name, prefixes in crawlers.items()
        },
    }


def _write(path: Path, document: object) -> None:
    path.write_text(json.dumps(document), encoding="utf-8")


def _cli(*args: str) -> str:
    """The installed ``antechamber crawlers ARGS``, as an operator runs it; fail unless it exits 0; its stdout."""
    result = subprocess.run([str(CLI), "crawlers", *args], capture_output=True, text=True, timeout=60, check=False)
    assert 0 == result.returncode, result.stderr
    return result.stdout


def _cli_in_process(*args: str) -> tuple[int, str, str]:
    """``antechamber crawlers ARGS`` in this process (a second each saved): exit code, stdout, stderr."""
    from typer.testing import CliRunner

    from antechamber.cli import app

    result = CliRunner().invoke(app, ["crawlers", *args])
    return result.exit_code, result.stdout, result.stderr
