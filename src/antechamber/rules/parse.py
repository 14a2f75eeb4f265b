"""Text to syntax tree, with errors that say where and what was expected.

The grammar (``grammar.lark``) is compiled once into a LALR(1) parser with a
contextual lexer; lark gives line and column for every token. Types are not
checked here: :mod:`antechamber.rules.check` does that on the tree.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable
from importlib import resources
from typing import Any

import lark
from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from antechamber.rules.syntax import (
    Bare,
    Call,
    Comparison,
    Expression,
    FieldRef,
    Index,
    InList,
    InSet,
    IntLiteral,
    IpLiteral,
    Literal,
    Logical,
    Not,
    Position,
    Range,
    StringLiteral,
    Value,
    Wildcard,
)

#: The symbol forms of operators, by their English name.
_OPERATORS = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge", "~": "matches"}

#: How an expected token is named in an error.
_TOKEN_NAMES = {
    "FIELD": "a field or function",
    "STRING": "a string",
    "RAW_STRING": "a string",
    "INT": "a number",
    "IPV4": "an IP address",
    "IPV6": "an IP address",
    "LIST_NAME": "a list name ($name)",
    "INT_RANGE": "a range (1..5)",
    "IP_RANGE": "an address range",
    "$END": "the end of the expression",
}


_WORD = re.compile(r"[A-Za-z_]+")
_KEYWORDS = frozenset(
    ["and", "or", "xor", "not", "in", "eq", "ne", "lt", "le", "gt", "ge", "contains", "matches", "wildcard", "strict"]
)


class ExpressionError(ValueError):
    """The expression is not acceptable; ``str()`` names the place and what was wrong."""

    def __init__(self, message: str, at: Position | None = None) -> None:
        self.message = message
        self.at = at
        super().__init__(f"{message} (line {at[0]}, column {at[1]})" if at else message)


@functools.cache
def _parser() -> lark.Lark:
    grammar = resources.files("antechamber.rules").joinpath("grammar.lark").read_text()
    return lark.Lark(grammar, parser="lalr", lexer="contextual", propagate_positions=True, maybe_placeholders=False)


def parse(text: str) -> Expression:
    """The syntax tree of ``text``; raises :class:`ExpressionError` where it does not parse."""
    parser = _parser()
    try:
        tree = parser.parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text, parser) from None
    _check_index_spacing(tree, text)
    try:
        return _expression(tree)
    except VisitError as exc:  # pragma: no cover - the builder raises ExpressionError directly
        raise ExpressionError(str(exc.orig_exc)) from None


def _check_index_spacing(tree: Tree[Any], text: str) -> None:
    """``field[0]``, never ``field [0]``: wirefilter reads an index only right after what it indexes."""
    for node in tree.iter_subtrees():
        if str(node.data) == "index":
            base = node.children[0]
            end = getattr(base.meta, "end_pos", None) if isinstance(base, Tree) else base.end_pos
            if end is not None and end < len(text) and text[end] != "[":
                raise ExpressionError("no space may come before [", _offset_position(text, end))


def _offset_position(text: str, offset: int) -> Position:
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def _syntax_error(exc: UnexpectedInput, text: str, parser: lark.Lark) -> ExpressionError:
    line, column = getattr(exc, "line", 0) or 0, getattr(exc, "column", 0) or 0
    at = (line, column) if line > 0 else _end(text)
    if isinstance(exc, UnexpectedCharacters):
        offset = exc.pos_in_stream or 0
        word = _WORD.match(text, offset)
        if word and word.group().lower() in _KEYWORDS:
            return ExpressionError(f"operators are written in lower case: {word.group().lower()}", at)
        found = repr(text[offset]) if offset < len(text) else "the end"
        return ExpressionError(f"unexpected {found}, expected {_expected(exc.allowed, parser)}", at)
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            return ExpressionError(f"the expression ends early, expected {_expected(exc.expected, parser)}", _end(text))
        return ExpressionError(f"unexpected {str(token)!r}, expected {_expected(exc.expected, parser)}", at)
    if isinstance(exc, UnexpectedEOF):
        expected = {str(name) for name in exc.expected}
        return ExpressionError(f"the expression ends early, expected {_expected(expected, parser)}", _end(text))
    return ExpressionError(str(exc), at)  # pragma: no cover - lark has no other kinds


def _end(text: str) -> Position:
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


def _expected(names: Iterable[str], parser: lark.Lark) -> str:
    by_name = {terminal.name: terminal for terminal in parser.terminals}
    words: set[str] = set()
    for name in names:
        if name in _TOKEN_NAMES:
            words.add(_TOKEN_NAMES[name])
            continue
        terminal = by_name.get(name)
        pattern = getattr(terminal, "pattern", None)
        if pattern is not None and pattern.type == "str":
            words.add(repr(pattern.value).replace("'", '"'))
        else:
            words.add(name.lower())
    ordered = sorted(words, key=lambda word: (not word.startswith('"'), word))
    if len(ordered) > 8:
        ordered = [*ordered[:8], "…"]
    return " or ".join(ordered) if len(ordered) <= 2 else ", ".join(ordered[:-1]) + " or " + ordered[-1]


# --- building the syntax tree ----------------------------------------------


def _token(node: Any) -> Token:
    assert isinstance(node, Token), node
    return node


def _pos(node: Tree[Any] | Token) -> Position:
    if isinstance(node, Token):
        return (node.line or 0, node.column or 0)
    meta = node.meta
    return (getattr(meta, "line", 0), getattr(meta, "column", 0))


def _expression(tree: Tree[Any]) -> Expression:
    kind = str(tree.data)
    at = _pos(tree)
    if kind in ("or_chain", "xor_chain", "and_chain"):
        op = kind.removesuffix("_chain")
        operands: list[Expression] = []
        for child in tree.children:
            built = _expression(child)
            # Logical operators are associative: a chain written with parentheses is the same chain.
            if isinstance(built, Logical) and built.op == op:
                operands.extend(built.operands)
            else:
                operands.append(built)
        return Logical(op, tuple(operands), at)
    if kind == "negation":
        return Not(_expression(tree.children[-1]), at)
    if kind == "bare":
        return Bare(_value(tree.children[0]), at)
    if kind == "comparison":
        left, op_tree, right = tree.children
        op = str(op_tree.children[0])
        return Comparison(_value(left), _OPERATORS.get(op, op), _operand(right), at)
    if kind in ("wildcard", "strict_wildcard"):
        pattern = _string(tree.children[-1])
        _check_wildcard(pattern)
        return Wildcard(_value(tree.children[0]), pattern.value, kind == "strict_wildcard", at)
    if kind == "in_set":
        return InSet(_value(tree.children[0]), tuple(_set_item(item) for item in tree.children[1:]), at)
    if kind == "in_list":
        token = _token(tree.children[1])
        name = str(token)[1:]
        if name != name.lower():
            raise ExpressionError(f"invalid list name {name!r}: list names are lower case", _pos(token))
        return InList(_value(tree.children[0]), name, at)
    raise ExpressionError(f"a {kind} is not a condition", at)  # pragma: no cover - the grammar allows no other


def _check_wildcard(pattern: StringLiteral) -> None:
    """A wildcard pattern escapes only ``*`` and ``\\``, and never has two stars in a row."""
    value = pattern.value
    i = 0
    while i < len(value):
        byte = value[i : i + 1]
        if byte == b"\\":
            if i + 1 >= len(value):
                raise ExpressionError("the wildcard pattern ends in an incomplete escape (\\)", pattern.at)
            if value[i + 1 : i + 2] not in (b"*", b"\\"):
                raise ExpressionError("in a wildcard pattern only \\* and \\\\ are escapes", pattern.at)
            i += 2
            continue
        if byte == b"*" and value[i + 1 : i + 2] == b"*":
            raise ExpressionError("a wildcard pattern may not contain ** (one * already matches anything)", pattern.at)
        i += 1


def _value(tree: Tree[Any]) -> Value:
    kind = str(tree.data)
    at = _pos(tree)
    if kind == "field":
        return FieldRef(str(tree.children[0]), at)
    if kind == "call":
        name, *args = tree.children
        return Call(str(name), tuple(_argument(arg) for arg in args), at)
    if kind == "index":
        base, key = tree.children
        return Index(_value(base), _index_key(key), at)
    if kind == "bare":  # a value written where a condition could stand (a function argument)
        return _value(tree.children[0])
    raise ExpressionError("expected a field or a function call", at)


def _argument(tree: Tree[Any]) -> Value | Literal | Expression:
    kind = str(tree.data)
    if kind == "bare":
        return _value(tree.children[0])
    if kind in ("string", "int_literal", "ip_literal"):
        return _literal(tree)
    return _expression(tree)


def _operand(tree: Tree[Any]) -> Value | Literal:
    if str(tree.data) in ("string", "int_literal", "ip_literal"):
        return _literal(tree)
    return _value(tree)


def _index_key(tree: Tree[Any]) -> int | bytes | None:
    kind = str(tree.data)
    if kind == "index_each":
        return None
    if kind == "index_key":
        token = _token(tree.children[0].children[0])
        if token.type == "RAW_STRING":
            raise ExpressionError("a map key is a quoted string, not a raw one", _pos(token))
        key = _string(tree.children[0]).value
        try:
            key.decode("utf-8")
        except UnicodeDecodeError:
            raise ExpressionError("a map key must be valid UTF-8", _pos(token)) from None
        return key
    token = _token(tree.children[0])
    position = _int(token)
    if position < 0:
        raise ExpressionError("an index must not be negative", _pos(token))
    return position


def _literal(tree: Tree[Any]) -> Literal:
    kind = str(tree.data)
    if kind == "string":
        return _string(tree)
    token = _token(tree.children[0])
    if kind == "int_literal":
        return IntLiteral(_int(token), _pos(token))
    return _ip(token)


def _set_item(tree: Tree[Any]) -> Literal | Range:
    kind = str(tree.data)
    if kind == "int_range":
        token = _token(tree.children[0])
        low, high = (IntLiteral(_int(token, part), _pos(token)) for part in str(token).split(".."))
        if low.value > high.value:
            raise ExpressionError(f"the range {low.value}..{high.value} is empty", _pos(tree))
        return Range(low, high, _pos(tree))
    if kind == "ip_range":
        token = _token(tree.children[0])
        ip_low, ip_high = (_ip(token, part) for part in str(token).split(".."))
        if ip_low.is_network or ip_high.is_network or ip_low.value.version != ip_high.value.version:
            raise ExpressionError("an address range joins two addresses of one IP version", _pos(tree))
        if int(ip_low.value.network_address) > int(ip_high.value.network_address):
            raise ExpressionError("the address range is empty", _pos(tree))
        return Range(ip_low, ip_high, _pos(tree))
    return _literal(tree)


def _int(token: Token, text: str | None = None) -> int:
    text = str(token) if text is None else text
    negative = text.startswith("-")
    digits = text.lstrip("-")
    if digits.startswith("0x"):
        value = int(digits[2:], 16)
    elif len(digits) > 1 and digits.startswith("0"):
        # wirefilter reads a leading zero as octal, like C.
        try:
            value = int(digits[1:], 8)
        except ValueError:
            raise ExpressionError(f"{text} is not an octal number", _pos(token)) from None
    else:
        value = int(digits)
    value = -value if negative else value
    if not -(2**63) <= value < 2**63:
        raise ExpressionError(f"{text} does not fit in a 64-bit integer", _pos(token))
    return value


def _ip(token: Token, text: str | None = None) -> IpLiteral:
    text = str(token) if text is None else text
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        reason = "its host part is not zero" if "host bits set" in str(exc) else "it is not an address or network"
        raise ExpressionError(f"{text} is not a valid IP literal: {reason}", _pos(token)) from None
    return IpLiteral(network, "/" in text, _pos(token))


def _string(tree: Tree[Any]) -> StringLiteral:
    token = _token(tree.children[0])
    text = str(token)
    if token.type == "RAW_STRING":
        body = text[2:-1] if text.startswith('r"') else text[3:-2]
        return StringLiteral(body.encode(), _pos(token))
    return StringLiteral(_unescape(text[1:-1], token), _pos(token))


def _unescape(body: str, token: Token) -> bytes:
    """wirefilter's escapes: ``\\"``, ``\\\\``, ``\\xHH`` and ``\\OOO`` (three octal digits)."""
    out = bytearray()
    i = 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out += char.encode()
            i += 1
            continue
        nxt = body[i + 1 : i + 2]
        if nxt in ('"', "\\"):
            out += nxt.encode()
            i += 2
        elif nxt == "x" and _is_digits(body[i + 2 : i + 4], "0123456789abcdefABCDEF"):
            out.append(int(body[i + 2 : i + 4], 16))
            i += 4
        elif _is_digits(body[i + 1 : i + 4], "01234567") and int(body[i + 1 : i + 4], 8) < 256:
            out.append(int(body[i + 1 : i + 4], 8))
            i += 4
        else:
            line, column = _pos(token)
            raise ExpressionError('expected ", \\, xHH or OOO after \\ in a string', (line, column + 1 + i))
    return bytes(out)


def _is_digits(text: str, alphabet: str) -> bool:
    return len(text) in (2, 3) and all(char in alphabet for char in text) and (len(text) == 2 or alphabet == "01234567")
