"""Hypothesis strategies for rule expressions: well-typed ones, and broken variants of them."""

from __future__ import annotations

import ipaddress

from hypothesis import strategies as st

BYTES_FIELDS = [
    "http.host",
    "http.request.uri",
    "http.request.uri.path",
    "http.request.uri.query",
    "http.request.full_uri",
    "http.request.method",
    "http.user_agent",
    "http.referer",
    "http.cookie",
    "http.x_forwarded_for",
    "http.request.uri.path.extension",
    "raw.http.request.uri.path",
    "ip.src.country",
    "ip.geoip.country",
    "ip.src.continent",
]
MAP_FIELDS = ["http.request.headers", "http.request.uri.args", "http.request.cookies"]
ARRAY_FIELDS = [
    "http.request.headers.names",
    "http.request.headers.values",
    "http.request.uri.args.names",
    "http.request.uri.args.values",
    "http.request.accepted_languages",
]
INT_FIELDS = ["ip.src.asnum", "ip.geoip.asnum", "http.request.timestamp.sec"]
BOOL_FIELDS = ["ssl", "ip.src.is_in_european_union"]
LISTS = ["office", "partners_2"]

_words = st.text(alphabet="abcXYZ019 -_/.*", min_size=0, max_size=6)


@st.composite
def string_literal(draw: st.DrawFn) -> str:
    text = draw(_words)
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    if draw(st.booleans()) and '"' not in text:
        return f'r"{text}"'
    if draw(st.integers(0, 5)) == 0:
        escaped += draw(st.sampled_from(["\\x41", "\\101", '\\"', "\\\\"]))
    return f'"{escaped}"'


@st.composite
def quoted_literal(draw: st.DrawFn) -> str:
    """A ``"..."`` string (map keys may not be raw strings)."""
    text = draw(_words)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def wildcard_pattern(draw: st.DrawFn) -> str:
    """A valid wildcard pattern: no backslash but the two escapes, never two stars in a row."""
    text = draw(st.text(alphabet="abcXYZ019 -_/.*", max_size=8))
    while "**" in text:
        text = text.replace("**", "*")
    if draw(st.booleans()):
        text += draw(st.sampled_from(["\\\\*", "\\\\\\\\"]))  # \\* and \\\\ in the quoted form
    return f'"{text}"'


ints = st.integers(-(2**40), 2**40).map(str) | st.sampled_from(["0x1f", "017", "0", "-3"])
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda p: ".".join(map(str, p)))
ipv6 = st.sampled_from(["::1", "2001:db8::1", "fe80::abcd", "::", "2001:db8:0:0:1:0:0:1", "::ffff:1.2.3.4"])
ip_address = ipv4 | ipv6
cidr = st.one_of(
    st.tuples(ipv4, st.integers(8, 32)).map(lambda t: str(ipaddress.ip_network(f"{t[0]}/{t[1]}", strict=False))),
    st.tuples(ipv6, st.integers(12, 128)).map(lambda t: str(ipaddress.ip_network(f"{t[0]}/{t[1]}", strict=False))),
)


@st.composite
def bytes_value(draw: st.DrawFn) -> str:
    choice = draw(st.integers(0, 5))
    if choice <= 2:
        return draw(st.sampled_from(BYTES_FIELDS))
    if choice == 3:
        name = draw(st.sampled_from(MAP_FIELDS))
        return f"{name}[{draw(quoted_literal())}][{draw(st.integers(0, 3))}]"
    if choice == 4:
        return f"{draw(st.sampled_from(ARRAY_FIELDS))}[{draw(st.integers(0, 3))}]"
    function = draw(st.sampled_from(["lower", "upper", "url_decode"]))
    return f"{function}({draw(st.sampled_from(BYTES_FIELDS))})"


@st.composite
def int_value(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(st.sampled_from(INT_FIELDS))
    return f"len({draw(st.sampled_from(BYTES_FIELDS))})"


def _op(draw: st.DrawFn, words: list[str], symbols: list[str]) -> str:
    return draw(st.sampled_from(words + symbols))


@st.composite
def predicate(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 9))
    if kind <= 2:
        left = draw(bytes_value())
        form = draw(st.integers(0, 4))
        if form == 0:
            op = _op(draw, ["eq", "ne", "lt", "le", "gt", "ge", "contains"], ["==", "!=", "<", "<=", ">", ">="])
            return f"{left} {op} {draw(string_literal())}"
        if form == 1:
            strict = draw(st.sampled_from(["", "strict "]))
            return f"{left} {strict}wildcard {draw(wildcard_pattern())}"
        if form == 2:
            items = draw(st.lists(string_literal(), max_size=3))
            return f"{left} in {{{' '.join(items)}}}"
        if form == 3:
            regex = draw(st.sampled_from(['"^/a"', '"b+c?"', 'r"\\d{2,}"', '"(x|y)$"', '"[a-z]"']))
            return f"{left} {draw(st.sampled_from(['matches', '~']))} {regex}"
        return f"{left} eq {draw(bytes_value())}"
    if kind == 3:
        op = _op(draw, ["eq", "ne", "lt", "le", "gt", "ge"], ["==", "!=", "<", ">="])
        return f"{draw(int_value())} {op} {draw(ints)}"
    if kind == 4:
        items = draw(
            st.lists(ints | st.tuples(st.integers(0, 99), st.integers(100, 200)).map(lambda t: f"{t[0]}..{t[1]}"))
        )
        return f"{draw(int_value())} in {{{' '.join(items)}}}"
    if kind == 5:
        form = draw(st.integers(0, 2))
        if form == 0:
            return f"ip.src {_op(draw, ['eq', 'ne', 'lt', 'ge'], ['==', '!='])} {draw(ip_address)}"
        if form == 1:
            items = draw(st.lists(ip_address | cidr, max_size=3))
            return f"ip.src in {{{' '.join(items)}}}"
        return f"ip.src in ${draw(st.sampled_from(LISTS))}"
    if kind == 6:
        return draw(st.sampled_from(BOOL_FIELDS))
    if kind == 7:
        function = draw(st.sampled_from(["starts_with", "ends_with"]))
        return f"{function}({draw(st.sampled_from(BYTES_FIELDS))}, {draw(string_literal())})"
    if kind == 8:
        fold = draw(st.sampled_from(["any", "all"]))
        array = draw(st.sampled_from(ARRAY_FIELDS))
        if draw(st.booleans()):
            array = f"lower({array}[*])"
        return f"{fold}({array}[*] {draw(st.sampled_from(['eq', 'contains', '==']))} {draw(string_literal())})"
    name = draw(st.sampled_from(MAP_FIELDS))
    path = draw(st.sampled_from([f"[{draw(quoted_literal())}][*]", "[*][0]", "[*][*]"]))
    return f"any({name}{path} eq {draw(string_literal())})"


@st.composite
def expression(draw: st.DrawFn, depth: int = 0) -> str:
    """A valid expression in the text form an operator would write."""
    if depth >= 3 or draw(st.integers(0, 2)) == 0:
        return draw(predicate())
    form = draw(st.integers(0, 4))
    if form == 0:
        return f"{draw(st.sampled_from(['not ', '!', 'not ']))}{draw(_operand(depth))}"
    if form == 1:
        return f"({draw(expression(depth + 1))})"
    op = draw(st.sampled_from(["and", "or", "xor", "&&", "||", "^^"]))
    return f"{draw(_operand(depth))} {op} {draw(_operand(depth))}"


@st.composite
def _operand(draw: st.DrawFn, depth: int) -> str:
    inner = draw(expression(depth + 1))
    # Parenthesise compound operands half the time so precedence is exercised both ways.
    return f"({inner})" if draw(st.booleans()) else inner


_NOISE = [
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    "and",
    "or",
    "not",
    "eq",
    "==",
    "in",
    '"x"',
    "1",
    "1.2.3.4",
    "$",
    "$A",
    ",",
    "http.host",
    "nosuch.field",
    "*",
    "..",
    "'q'",
    "wildcard",
    "strict",
    "&",
    "AND",
    "-",
    "0x",
    "\\",
    "=",
    "10.0.0.1/8",
    "1..",
    "[0]",
    "[*]",
]


@st.composite
def broken(draw: st.DrawFn) -> str:
    """A valid expression with one token-level change: most are invalid, some stay valid."""
    text = draw(expression())
    tokens = text.replace("(", " ( ").replace(")", " ) ").split(" ")
    tokens = [token for token in tokens if token]
    at = draw(st.integers(0, len(tokens) - 1))
    change = draw(st.integers(0, 3))
    if change == 0:
        del tokens[at]
    elif change == 1:
        tokens.insert(at, draw(st.sampled_from(_NOISE)))
    elif change == 2:
        tokens[at] = draw(st.sampled_from(_NOISE))
    else:
        tokens = tokens[:at]
    return " ".join(tokens)
