"""The syntax tree of a rule expression, and its canonical text.

:func:`to_text` prints a tree so that parsing the text gives the same tree
back (positions aside): the round trip the tests check. Logical chains are
flat (``a and b and c`` is one :class:`Logical`), since every logical
operator is associative.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

#: (line, column) in the expression, both 1-based; used only in error messages.
Position = tuple[int, int]
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _at() -> Position:
    return field(default=(0, 0), compare=False)


# --- values -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A request field by name: ``http.host``."""

    name: str
    at: Position = _at()


@dataclass(frozen=True, slots=True)
class Index:
    """``value[0]``, ``value["key"]`` or, with ``key=None``, ``value[*]`` (every element)."""

    base: Value
    key: int | bytes | None
    at: Position = _at()


@dataclass(frozen=True, slots=True)
class Call:
    """A function call: ``lower(http.host)``."""

    name: str
    args: tuple[Value | Literal | Expression, ...]
    at: Position = _at()


Value = FieldRef | Index | Call

# --- literals ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StringLiteral:
    """A string as bytes (wirefilter compares bytes), from ``"..."`` or ``r"..."``."""

    value: bytes
    at: Position = _at()


@dataclass(frozen=True, slots=True)
class IntLiteral:
    value: int
    at: Position = _at()


@dataclass(frozen=True, slots=True)
class IpLiteral:
    """An address, or in a set a network (``10.0.0.0/8``)."""

    value: IpNetwork
    #: Written with a prefix length (``/24``): only a set may hold one.
    is_network: bool
    at: Position = _at()


@dataclass(frozen=True, slots=True)
class Range:
    """``low..high`` in a set, of ints or addresses."""

    low: IntLiteral | IpLiteral
    high: IntLiteral | IpLiteral
    at: Position = _at()


Literal = StringLiteral | IntLiteral | IpLiteral

# --- predicates and logic ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comparison:
    """``value op operand``; ``op`` is the English name (``eq`` for ``==`` too)."""

    left: Value
    op: str
    right: Value | Literal
    at: Position = _at()


@dataclass(frozen=True, slots=True)
class Wildcard:
    """``value wildcard "pattern"`` (case-insensitive) or ``strict wildcard`` (case-sensitive)."""

    left: Value
    pattern: bytes
    strict: bool
    at: Position = _at()


@dataclass(frozen=True, slots=True)
class InSet:
    left: Value
    items: tuple[Literal | Range, ...]
    at: Position = _at()


@dataclass(frozen=True, slots=True)
class InList:
    """``ip.src in $office``: a named list, managed through the Lists API."""

    left: Value
    name: str
    at: Position = _at()


@dataclass(frozen=True, slots=True)
class Bare:
    """A boolean value used as a predicate: ``ssl``, ``starts_with(http.host, "a")``."""

    value: Value
    at: Position = _at()


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expression
    at: Position = _at()


@dataclass(frozen=True, slots=True)
class Logical:
    """``a and b and c``: one operator over two or more operands."""

    op: str  # "and", "xor" or "or"
    operands: tuple[Expression, ...]
    at: Position = _at()


Expression = Comparison | Wildcard | InSet | InList | Bare | Not | Logical

#: Binding strength: a child binding more loosely than its parent is printed in parentheses.
_STRENGTH = {"or": 1, "xor": 2, "and": 3}
_NOT_STRENGTH = 4


def to_text(node: Expression | Value | Literal | Range) -> str:
    """The canonical text of ``node``."""
    match node:
        case Logical(op, operands):
            return f" {op} ".join(_child(operand, _STRENGTH[op] + 1) for operand in operands)
        case Not(operand):
            return "not " + _child(operand, _NOT_STRENGTH)
        case Bare(value):
            return to_text(value)
        case Comparison(left, op, right):
            return f"{to_text(left)} {op} {to_text(right)}"
        case Wildcard(left, pattern, strict):
            return f"{to_text(left)} {'strict wildcard' if strict else 'wildcard'} {_quote(pattern)}"
        case InSet(left, items):
            return f"{to_text(left)} in {{{' '.join(to_text(item) for item in items)}}}"
        case InList(left, name):
            return f"{to_text(left)} in ${name}"
        case FieldRef(name):
            return name
        case Index(base, key):
            inner = "*" if key is None else str(key) if isinstance(key, int) else _quote(key)
            return f"{to_text(base)}[{inner}]"
        case Call(name, args):
            return f"{name}({', '.join(to_text(arg) for arg in args)})"
        case StringLiteral(value):
            return _quote(value)
        case IntLiteral(value):
            return str(value)
        case IpLiteral(value, is_network):
            return str(value) if is_network else str(value.network_address)
        case Range(low, high):
            return f"{to_text(low)}..{to_text(high)}"
    raise TypeError(f"not a syntax node: {node!r}")


def _child(node: Expression, strength: int) -> str:
    text = to_text(node)
    if isinstance(node, Logical) and _STRENGTH[node.op] < strength:
        return f"({text})"
    return text


def _quote(value: bytes) -> str:
    out = ['"']
    for byte in value:
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\x{byte:02x}")
    out.append('"')
    return "".join(out)
