"""The rule language's parser and checker: what is accepted, and errors that name the place."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from antechamber.rules.check import RuleContext
from antechamber.rules.parse import parse
from antechamber.rules.syntax import Comparison, FieldRef, Logical, Not, to_text
from antechamber.rules.validate import MAX_EXPRESSION_LENGTH, ExpressionError, checked_expression
from tests.rules.expressions import expression

CONTEXT = RuleContext(lists={"office": "ip", "partners_2": "ip", "networks": "asn", "hosts": "hostname"}, geo=True)

VALID = [
    'http.request.uri.path eq "/health"',
    'http.request.uri.path == "/health"',
    "ip.src in {192.0.2.0/24 2001:db8::/32 198.51.100.7}",
    "ip.src in {192.0.2.1..192.0.2.9}",
    "ip.src in $office",
    "ip.src.asnum in $networks",
    'starts_with(http.request.uri.path, "/static/")',
    'http.request.uri.path wildcard "/assets/*"',
    'http.host strict wildcard "*.Example.com"',
    'any(http.request.headers["x-partner-key"][*] eq "secret")',
    'http.request.uri.args["preview"][0] eq "1"',
    'any(lower(http.request.headers.names[*])[*] contains "x-")',
    'http.user_agent matches "(?i)uptime(robot|kuma)"',
    'http.user_agent ~ "^curl/"',
    "len(http.request.uri.query) gt 100 and not ssl",
    "ssl xor ssl or not ssl && ssl",
    'ip.src.country in {"FR" "DE"} and ip.geoip.is_in_european_union',
    'regex_replace(http.request.uri.path, "^/v[0-9]+/", "/") eq "/health"',
    'concat(http.host, http.request.uri.path) eq "example.com/"',
    'to_string(ip.src.asnum) eq "64500"',
    'url_decode(http.request.uri.query) contains "a b"',
    'http.host eq "caf\\xc3\\xa9.example"',
    'http.host eq r#"a"b"#',
    "http.request.timestamp.sec ge 0x10 and http.request.timestamp.sec in {1..5 017}",
    'http.request.method in {"GET" "HEAD"}',
    'all(http.request.headers.values[*] ne "")',
    'any(not starts_with(http.request.headers.names[*], "x-"))',
]


@pytest.mark.parametrize("text", VALID)
def test_documented_forms_are_accepted(text: str) -> None:
    """Every operator, function and literal form the issue lists parses and type-checks."""
    checked_expression(text, CONTEXT)


@pytest.mark.parametrize(
    ("text", "message", "at"),
    [
        ("http.host eq", "ends early", (1, 13)),
        ('http.host eq "a" &&', "ends early", (1, 20)),
        ("ssl)", "unexpected ')'", (1, 4)),
        ('http.host == "a" AND ssl', "lower case: and", (1, 18)),
        ('no.such.field eq "x"', "unknown field no.such.field", (1, 1)),
        ("cf.threat_score gt 10", "cannot be used in waiting room rules", (1, 1)),
        ("cf.bot_management.score lt 30", "cannot be used in waiting room rules", (1, 1)),
        ("http.response.code eq 200", "response field", (1, 1)),
        ('http.request.body.raw contains "x"', "request body field", (1, 1)),
        ("http.host eq 1", "expected a literal of type Bytes, but got Int", (1, 14)),
        ('ip.src eq "10.0.0.1"', "expected a literal of type Ip, but got Bytes", (1, 11)),
        ("ip.src eq 10.0.0.0/8", "only be tested with in", (1, 11)),
        ("ip.src in {10.0.0.1/8}", "host part is not zero", (1, 12)),
        ("ip.src in $nobody", "unknown list $nobody", (1, 1)),
        ("ip.src in $hosts", "hostname list", (1, 1)),
        ("ip.src in $Office", "list names are lower case", (1, 11)),
        ('http.request.headers["a"] eq "b"', "index it first", (1, 1)),
        ('http.request.headers.names[*] eq "a"', "any() or all()", (1, 1)),
        ('http.host matches "("', "invalid regular expression", (1, 19)),
        ('http.host matches "a{"', "counted repetition", (1, 19)),
        ('http.host wildcard "a**"', "**", (1, 20)),
        ('lower("A") eq "a"', "not a literal", (1, 1)),
        ("to_string(ssl) eq 1", "expected Int, but got Bool", (1, 11)),
        ('sha256(http.host) eq "x"', "not available in waiting room rules", (1, 1)),
        ('nosuch(http.host) eq "x"', "unknown function nosuch()", (1, 1)),
        ('http.host eq "\\q"', "after \\", (1, 15)),
        ('http.request.headers.names [0] eq "a"', "no space may come before [", (1, 27)),
        ('\n\nhttp.host eq "a" and\n  nope', "unknown field nope", (4, 3)),
    ],
)
def test_errors_name_the_place(text: str, message: str, at: tuple[int, int]) -> None:
    """A refused expression says what was wrong, at which line and column."""
    with pytest.raises(ExpressionError) as caught:
        checked_expression(text, CONTEXT)
    assert message in caught.value.message
    assert caught.value.at == at
    assert f"(line {at[0]}, column {at[1]})" in str(caught.value)


def test_geo_fields_need_a_database() -> None:
    """Without a MaxMind-format database a geo rule is refused, with a message saying how to configure one."""
    with pytest.raises(ExpressionError, match="--geoip"):
        checked_expression('ip.src.country eq "FR"', RuleContext())


def test_limits() -> None:
    """Empty, over-long and too deeply nested expressions are refused."""
    with pytest.raises(ExpressionError, match="empty"):
        checked_expression("   ")
    with pytest.raises(ExpressionError, match="longer than"):
        checked_expression("ssl or " * (MAX_EXPRESSION_LENGTH // 7) + "ssl")
    with pytest.raises(ExpressionError, match="nests deeper"):
        checked_expression("not " * 200 + "ssl")


def test_precedence() -> None:
    """not binds tighter than and, and than xor, and than or; symbols and words mean the same."""
    tree = parse("not ssl and ssl xor ssl or ssl")
    assert isinstance(tree, Logical) and tree.op == "or"
    xor = tree.operands[0]
    assert isinstance(xor, Logical) and xor.op == "xor"
    conjunction = xor.operands[0]
    assert isinstance(conjunction, Logical) and conjunction.op == "and"
    assert isinstance(conjunction.operands[0], Not)
    assert parse("!ssl && ssl ^^ ssl || ssl") == tree


def test_symbol_operators_read_as_words() -> None:
    """``==`` and ``eq`` build the same tree."""
    tree = parse('http.host == "a"')
    assert tree == Comparison(FieldRef("http.host"), "eq", parse('http.host eq "a"').right)  # type: ignore[union-attr]


@settings(max_examples=400, deadline=None)
@given(expression())
def test_print_parse_round_trip(text: str) -> None:
    """Printing a parsed expression and parsing the text gives the same tree."""
    tree = checked_expression(text, CONTEXT)
    printed = to_text(tree)
    assert parse(printed) == tree
    assert to_text(parse(printed)) == printed
