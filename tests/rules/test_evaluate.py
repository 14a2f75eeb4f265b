"""Compiled rules decide requests as Cloudflare's Rules language says."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from antechamber.rules.check import RuleContext
from antechamber.rules.compile import ListItems, compile_rules
from antechamber.rules.validate import checked_expression

LISTS: Mapping[str, ListItems] = {
    "office": ("ip", ["192.0.2.0/24", "2001:db8:1::/48", "198.51.100.7"]),
    "networks": ("asn", ["64500", "64501"]),
}
CONTEXT = RuleContext(lists={name: kind for name, (kind, _) in LISTS.items()}, geo=True)
GEO = {"203.0.113.9": {"ip.src.country": "FR", "ip.src.asnum": 64500, "ip.src.is_in_european_union": True}}


@dataclass
class Request:
    """A request as rules read it (the gateway's Visitor has the same attributes)."""

    host: str = "shop.example.com"
    method: str = "GET"
    raw_path: bytes = b"/products/1"
    query_string: bytes = b""
    headers: Sequence[tuple[bytes, bytes]] = field(default_factory=list)
    secure: bool = True
    client_ip: str | None = "203.0.113.9"


def matches(expression: str, request: Request | None = None, now_ms: int = 1_700_000_000_000) -> bool:
    matcher = compile_rules([(checked_expression(expression, CONTEXT), True)], LISTS)
    return matcher(request or Request(), now_ms, geo_record) == 0


def geo_record(address: str) -> dict[str, Any]:
    """The geo database's answer as the gateway's lookup gives it: text fields as bytes."""
    return {key: value.encode() if isinstance(value, str) else value for key, value in GEO.get(address, {}).items()}


B2 = [(b"b", b"2")]
CASES: list[tuple[str, dict[str, Any], bool]] = [
    ('http.host eq "shop.example.com"', {}, True),
    ('http.host eq "Shop.example.com"', {}, False),  # comparisons are case-sensitive
    ('http.request.uri.path eq "/a b"', {"raw_path": b"/a%20b"}, True),
    ('raw.http.request.uri.path eq "/a%20b"', {"raw_path": b"/a%20b"}, True),
    ('http.request.uri eq "/p?x=1"', {"raw_path": b"/p", "query_string": b"x=1"}, True),
    ('http.request.full_uri eq "https://shop.example.com/p?x=1"', {"raw_path": b"/p", "query_string": b"x=1"}, True),
    ('http.request.full_uri wildcard "http://*"', {"secure": False}, True),
    ('http.request.uri.path.extension eq "css"', {"raw_path": b"/s/site.CSS"}, True),
    ('http.request.method eq "POST"', {"method": "POST"}, True),
    ("ssl", {"secure": False}, False),
    ("not ssl", {"secure": False}, True),
    ('http.user_agent contains "UptimeRobot"', {"headers": [(b"user-agent", b"Mozilla/5.0 UptimeRobot/2.0")]}, True),
    ('http.referer eq ""', {}, True),
    ('http.cookie contains "vip=1"', {"headers": [(b"cookie", b"a=1"), (b"cookie", b"vip=1")]}, True),
    ('any(http.request.cookies["vip"][*] eq "1")', {"headers": [(b"cookie", b"a=1; vip=1")]}, True),
    ('any(http.request.headers["x-key"][*] eq "k2")', {"headers": [(b"x-key", b"k1"), (b"x-key", b"k2")]}, True),
    ('any(http.request.headers["X-Key"][*] eq "k1")', {"headers": [(b"x-key", b"k1")]}, True),  # names fold case
    ('http.request.headers["x-key"][1] eq "k2"', {"headers": [(b"x-key", b"k1"), (b"x-key", b"k2")]}, True),
    ('http.request.headers["x-key"][0] ne "k1"', {}, False),  # a missing value makes any comparison false
    ('not http.request.headers["x-key"][0] eq "k1"', {}, True),
    ('any(http.request.headers.names[*] eq "x-key")', {"headers": [(b"x-key", b"1")]}, True),
    # The whole map and one of its keys in one rule, in both orders.
    (
        'any(http.request.headers[*][0] eq "2") and http.request.headers["b"][0] eq "2"',
        {"headers": [(b"b", b"2")]},
        True,
    ),
    (
        'http.request.headers["b"][0] eq "2" and any(http.request.headers[*][0] eq "2")',
        {"headers": [(b"b", b"2")]},
        True,
    ),
    ('all(http.request.headers.values[*] ne "")', {"headers": [(b"a", b"1"), (b"b", b"")]}, False),
    ('http.request.uri.args["q"][0] eq "a b"', {"query_string": b"q=a+b"}, True),
    ('raw.http.request.uri.args["q"][0] eq "a+b"', {"query_string": b"q=a+b"}, True),
    ('any(http.request.uri.args.names[*] eq "utm_source")', {"query_string": b"x=1&utm_source=mail"}, True),
    ('http.request.accepted_languages[0] eq "de"', {"headers": [(b"accept-language", b"fr;q=0.5, de")]}, True),
    ("ip.src in $office", {"client_ip": "192.0.2.44"}, True),
    ("ip.src in $office", {"client_ip": "2001:db8:1:ff::1"}, True),
    ("ip.src in $office", {"client_ip": "::ffff:198.51.100.7"}, True),  # IPv4-mapped counts as IPv4
    ("ip.src in $office", {"client_ip": "198.51.100.8"}, False),
    ("ip.src in {10.0.0.0/8 192.0.2.10..192.0.2.20}", {"client_ip": "192.0.2.15"}, True),
    ("ip.src eq 192.0.2.1", {"client_ip": "192.0.2.1"}, True),
    ("ip.src lt ::", {"client_ip": "255.255.255.255"}, True),  # every IPv4 address sorts before IPv6
    ("ip.src in {0.0.0.0/0}", {"client_ip": None}, False),
    ('ip.src.country in {"FR" "DE"}', {}, True),
    ("ip.geoip.asnum in $networks", {}, True),
    ("ip.src.is_in_european_union", {}, True),
    ('ip.src.country eq "FR"', {"client_ip": "198.51.100.1"}, False),  # no record
    ('http.host wildcard "*.EXAMPLE.com"', {}, True),  # wildcard ignores case
    ('http.host strict wildcard "*.EXAMPLE.com"', {}, False),
    ('http.request.uri.path wildcard "/products/*"', {}, True),
    ('http.request.uri.path wildcard "/p*s/*1"', {}, True),
    ('http.request.uri.path wildcard "/a\\\\*"', {"raw_path": b"/a*"}, True),
    ('http.request.uri.path wildcard "/a\\\\*"', {"raw_path": b"/ab"}, False),
    ('http.user_agent matches "(?i)^curl/"', {"headers": [(b"user-agent", b"CURL/8.0")]}, True),
    ('http.request.uri.path matches "^/(a+)+$"', {"raw_path": b"/" + b"a" * 5000 + b"!"}, False),  # linear time
    ('lower(http.host) eq "shop.example.com"', {"host": "SHOP.example.com"}, True),
    ('upper(http.request.method) eq "GET"', {"method": "get"}, True),
    ("len(http.request.uri.path) eq 11", {}, True),
    ('starts_with(http.request.uri.path, "/products/")', {}, True),
    ('ends_with(http.request.uri.path, "/1")', {}, True),
    ('url_decode(http.request.uri.query) eq "a=b c"', {"query_string": b"a=b%20c"}, True),
    ('concat(http.host, http.request.uri.path) eq "shop.example.com/products/1"', {}, True),
    ('to_string(len(http.host)) eq "16"', {}, True),
    ('regex_replace(http.request.uri.path, "^/v[0-9]+/", "/") eq "/health"', {"raw_path": b"/v2/health"}, True),
    ('regex_replace(http.request.uri.path, "(\\\\w+)/(\\\\w+)", "${2}") eq "/1"', {}, True),
    ("http.request.timestamp.sec ge 1700000000", {}, True),
    ('ssl xor http.request.method eq "GET"', {}, False),
    ('ssl and not http.request.method eq "GET" or http.host eq "shop.example.com"', {}, True),
    ('any(not starts_with(http.request.headers.names[*], "x-"))', {"headers": [(b"x-a", b"1")]}, False),
    (
        'any((http.request.headers.names[*] eq "a" and http.request.headers.values[*] eq "1"))',
        {"headers": [(b"a", b"2"), (b"b", b"1")]},
        False,
    ),
]


@pytest.mark.parametrize(("expression", "request_fields", "expected"), CASES)
def test_rule_decides(expression: str, request_fields: dict[str, Any], expected: bool) -> None:
    """Each field, operator and function gives the answer the language defines."""
    assert matches(expression, Request(**request_fields)) is expected


def test_first_enabled_match_wins_and_disabled_rules_never_match() -> None:
    """The matcher returns the position of the first enabled rule that matches."""
    rules = [
        (checked_expression("ssl", CONTEXT), False),
        (checked_expression('http.request.method eq "GET"', CONTEXT), True),
        (checked_expression("ssl", CONTEXT), True),
    ]
    matcher = compile_rules(rules, LISTS)
    assert matcher(Request(), 0, None) == 1
    assert matcher(Request(method="POST"), 0, None) == 2
    assert matcher(Request(method="POST", secure=False), 0, None) == -1
    assert compile_rules([(checked_expression("ssl", CONTEXT), False)])(Request(), 0, None) == -1


def test_a_list_the_gateway_does_not_have_matches_nothing() -> None:
    """A rule naming a list missing from the gateway's snapshot fails closed: the visitor waits."""
    matcher = compile_rules([(checked_expression("ip.src in $office", CONTEXT), True)], {})
    assert matcher(Request(client_ip="192.0.2.1"), 0, None) == -1


def test_odd_visitor_input_never_raises() -> None:
    """Malformed addresses, bytes and oversized values are just values that do not match."""
    matcher = compile_rules(
        [
            (checked_expression(text, CONTEXT), True)
            for text in [
                "ip.src in $office",
                'http.request.uri.args["a"][0] eq "x"',
                'any(http.request.cookies["c"][*] eq "x")',
                'http.request.accepted_languages[0] eq "x"',
                'http.request.uri.path eq "x"',
            ]
        ],
        LISTS,
    )
    odd = Request(
        client_ip="not-an-ip",
        query_string=b"a=%zz&&=&" + b"x" * 20000,
        raw_path=b"/%ff%00%",
        headers=[(b"cookie", b";;=;\xff=\xfe"), (b"accept-language", b"q=;;,*;q=x,,")],
    )
    assert matcher(odd, 0, None) == -1
