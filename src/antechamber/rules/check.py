"""Type checking of a syntax tree against the fields, functions and lists a room can use.

Follows wirefilter's typing: every comparison's sides agree in type, ``[*]``
maps over an array or map and the comparison on it gives an array of bools
that ``any()`` or ``all()`` must fold, and the whole expression is one Bool.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from antechamber.rules.fields import GEO_FIELDS, REQUEST_FIELDS, refusal
from antechamber.rules.parse import ExpressionError
from antechamber.rules.regex import Pattern, PatternError
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
    Range,
    StringLiteral,
    Value,
    Wildcard,
)
from antechamber.rules.types import BOOL, BYTES, INT, IP, Array, Map, Primitive, ValueType

#: The list kinds a rule can test, and the type of the value tested against each.
LIST_KINDS: Mapping[str, Primitive] = {"ip": IP, "asn": INT}

_ORDERING = ("eq", "ne", "lt", "le", "gt", "ge")
_OPERATORS: Mapping[Primitive, tuple[str, ...]] = {
    BYTES: (*_ORDERING, "contains", "matches"),
    INT: _ORDERING,
    IP: _ORDERING,
    BOOL: (),
}
#: Functions of the full Rules language that request rules here do not offer.
_UNSUPPORTED_FUNCTIONS = frozenset(
    "uuidv4 substring remove_bytes lookup_json_string lookup_json_integer sha256 sha512 hmac is_timed_hmac_valid_v0 "
    "ip_in_range wildcard encode_base64 decode_base64 cidr cidr6 join split has_key has_value remove_query_args "
    "bit_slice wildcard_replace is_jwt_valid is_jwt_present coalesce hash_in_range trim trim_start trim_end "
    "contains".split()
)


@dataclass(frozen=True, slots=True)
class RuleContext:
    """What an expression may refer to besides the request: the account's lists, the geo database."""

    #: list name -> kind (``ip``, ``asn``, ``hostname``, ``redirect``)
    lists: Mapping[str, str] = field(default_factory=dict)
    #: A MaxMind-format database is configured, so geo fields have values.
    geo: bool = False


@dataclass(frozen=True, slots=True)
class Typed:
    """A value's type; ``each`` when it stands for every element of a ``[*]``."""

    type: ValueType
    each: bool = False


def check(expression: Expression, context: RuleContext) -> None:
    """Raise :class:`ExpressionError` unless ``expression`` is one well-typed Bool over known names."""
    result = _condition(expression, context)
    if result.type != BOOL:
        raise ExpressionError(
            f"expected value of type Bool, but got {result.type}: fold a [*] comparison with any() or all()",
            expression.at,
        )


_BOOLS = Array(BOOL)


def _condition(node: Expression, context: RuleContext) -> Typed:
    """A condition's type: Bool, or Array<Bool> for one over a ``[*]`` value (element by element)."""
    match node:
        case Logical(op, operands):
            types = [_condition(operand, context).type for operand in operands]
            if any(found != types[0] for found in types):
                raise ExpressionError(f"cannot {op} a Bool with an Array<Bool>", node.at)
            return Typed(types[0])
        case Not(operand):
            return _condition(operand, context)
        case Bare(value):
            typed = _value(value, context)
            if typed.each or typed.type not in (BOOL, _BOOLS):
                raise ExpressionError(f"expected a condition, but {_describe(typed)} is not a Bool", node.at)
            return typed
        case Comparison(left, op, right):
            scalar = _primitive(left, context, op)
            if op not in _OPERATORS[scalar.type]:
                raise ExpressionError(f"cannot use {op} on type {scalar.type}", node.at)
            _operand(right, scalar.type, op, context)
            return _result(scalar)
        case Wildcard(left):
            scalar = _primitive(left, context, "wildcard")
            if scalar.type != BYTES:
                raise ExpressionError(f"cannot use wildcard on type {scalar.type}", node.at)
            return _result(scalar)
        case InSet(left, items):
            scalar = _primitive(left, context, "in")
            if scalar.type == BOOL:
                raise ExpressionError("cannot use in on type Bool", node.at)
            for item in items:
                _set_item(item, scalar.type)
            return _result(scalar)
        case InList(left, name):
            scalar = _primitive(left, context, "in")
            kind = context.lists.get(name)
            if kind is None:
                raise ExpressionError(f"unknown list ${name}", node.at)
            wanted = LIST_KINDS.get(kind)
            if wanted is None:
                raise ExpressionError(f"${name} is a {kind} list; rules can test only ip and asn lists", node.at)
            if scalar.type != wanted:
                shown = _describe(Typed(scalar.type, scalar.each))
                raise ExpressionError(f"${name} is a {kind} list, but {shown} is not of type {wanted}", node.at)
            return _result(scalar)
    raise ExpressionError("not a condition", getattr(node, "at", None))  # pragma: no cover


@dataclass(frozen=True, slots=True)
class _Scalar:
    """The type of a comparison's left side: a primitive, maybe for each element of a ``[*]``."""

    type: Primitive
    each: bool = False


def _result(scalar: _Scalar) -> Typed:
    return Typed(_BOOLS if scalar.each else BOOL)


def _primitive(value: Value, context: RuleContext, op: str) -> _Scalar:
    typed = _value(value, context)
    if not isinstance(typed.type, Primitive):
        hint = 'index it first ([0], ["name"] or [*])'
        raise ExpressionError(f"cannot use {op} on type {typed.type}: {hint}", value.at)
    return _Scalar(typed.type, typed.each)


def value_type(node: Value, context: RuleContext) -> ValueType:
    """The type of a checked value (for the compiler)."""
    return _value(node, context).type


def _value(node: Value, context: RuleContext) -> Typed:
    match node:
        case FieldRef():
            return Typed(_field_type(node, context))
        case Index(base, key):
            typed = _value(base, context)
            container = typed.type
            # Indexing a [*] value indexes each element (and [*] again flattens), as wirefilter does.
            if key is None and isinstance(container, Array | Map):
                return Typed(container.element, each=True)
            if isinstance(key, int) and isinstance(container, Array):
                return Typed(container.element, each=typed.each)
            if isinstance(key, bytes) and isinstance(container, Map):
                return Typed(container.element, each=typed.each)
            shown = "*" if key is None else key if isinstance(key, int) else repr(key.decode("latin-1"))
            raise ExpressionError(f"cannot access index [{shown}] of type {container}", node.at)
        case Call():
            return _call(node, context)
    raise ExpressionError("expected a field or a function call", getattr(node, "at", None))  # pragma: no cover


def _field_type(node: FieldRef, context: RuleContext) -> ValueType:
    found = REQUEST_FIELDS.get(node.name)
    if found is not None:
        return found
    geo = GEO_FIELDS.get(node.name)
    if geo is not None:
        if not context.geo:
            raise ExpressionError(
                f"{node.name} needs a MaxMind-format geo database, and none is configured "
                "(start the server with --geoip PATH)",
                node.at,
            )
        return geo
    raise ExpressionError(refusal(node.name), node.at)


def _call(node: Call, context: RuleContext) -> Typed:
    name, args = node.name, node.args
    if name in ("any", "all"):
        _arity(node, 1)
        typed = _argument(args[0], context)
        if typed.each or typed.type != _BOOLS:
            raise ExpressionError(
                f"{name}() takes an Array<Bool> (a comparison over a [*] value), not {_describe(typed)}", node.at
            )
        return Typed(BOOL)
    signature = _SIGNATURES.get(name)
    if signature is None:
        if name in _UNSUPPORTED_FUNCTIONS:
            raise ExpressionError(f"the function {name}() is not available in waiting room rules", node.at)
        raise ExpressionError(f"unknown function {name}()", node.at)
    params, result = signature
    if name == "concat":
        return _concat(node, context)
    _arity(node, len(params))
    each = False
    for position, (arg, param) in enumerate(zip(args, params, strict=True)):
        if param == "regex" or param == "literal":
            if not isinstance(arg, StringLiteral):
                raise ExpressionError(f"argument #{position} of {name}() must be a string literal", node.at)
            if param == "regex":
                try:
                    Pattern(arg.value)
                except PatternError as exc:
                    raise ExpressionError(str(exc), arg.at) from None
            continue
        if position == 0 and isinstance(arg, Literal):
            raise ExpressionError(f"argument #0 of {name}() must be a field or function, not a literal", node.at)
        typed = _argument(arg, context)
        if typed.type != param:
            raise ExpressionError(
                f"invalid type of argument #{position} of {name}(): expected {param}, but got {_describe(typed)}",
                getattr(arg, "at", node.at),
            )
        each = each or typed.each
    return Typed(Array(result) if each else result)


def _concat(node: Call, context: RuleContext) -> Typed:
    if len(node.args) < 2:
        raise ExpressionError("concat() takes at least two arguments", node.at)
    types = [_argument(arg, context) for arg in node.args]
    first = types[0]
    if first.each or not (first.type == BYTES or isinstance(first.type, Array)):
        raise ExpressionError(f"concat() joins Bytes or arrays, not {_describe(first)}", node.at)
    for typed in types[1:]:
        if typed != first:
            raise ExpressionError(f"concat() arguments must share one type; got {first.type} and {typed.type}", node.at)
    return first


def _argument(arg: Value | Literal | Expression, context: RuleContext) -> Typed:
    if isinstance(arg, StringLiteral):
        return Typed(BYTES)
    if isinstance(arg, IntLiteral):
        return Typed(INT)
    if isinstance(arg, IpLiteral):
        return Typed(IP)
    if isinstance(arg, FieldRef | Index | Call):
        return _value(arg, context)
    return _condition(arg, context)


def _arity(node: Call, count: int) -> None:
    if len(node.args) != count:
        raise ExpressionError(f"{node.name}() takes {count} argument{'s' if count != 1 else ''}", node.at)


def _operand(right: Value | Literal, wanted: Primitive, op: str, context: RuleContext) -> None:
    if op == "matches":
        if not isinstance(right, StringLiteral):
            raise ExpressionError("matches takes a string literal (the regular expression)", _at(right))
        try:
            Pattern(right.value)
        except PatternError as exc:
            raise ExpressionError(str(exc), right.at) from None
        return
    if isinstance(right, FieldRef | Index | Call):
        typed = _value(right, context)
        if typed.each or typed.type != wanted:
            raise ExpressionError(f"expected a value of type {wanted}, but got {_describe(typed)}", right.at)
        return
    _literal(right, wanted)


def _literal(literal: Literal, wanted: Primitive) -> None:
    found = {StringLiteral: BYTES, IntLiteral: INT, IpLiteral: IP}[type(literal)]
    if found != wanted:
        raise ExpressionError(f"expected a literal of type {wanted}, but got {found}", literal.at)
    if isinstance(literal, IpLiteral) and literal.is_network:
        raise ExpressionError("a network (with /prefix) can only be tested with in {...}", literal.at)


def _set_item(item: Literal | Range, wanted: Primitive) -> None:
    if isinstance(item, Range):
        _literal(item.low, wanted)
        _literal(item.high, wanted)
    elif isinstance(item, IpLiteral) and wanted == IP:
        return  # networks are welcome in a set
    else:
        _literal(item, wanted)


def _describe(typed: Typed) -> str:
    return f"Array<{typed.type}>" if typed.each else str(typed.type)


def _at(node: Value | Literal) -> tuple[int, int]:
    return node.at


#: name -> (parameter types, or "literal"/"regex" for string literals; result type)
_SIGNATURES: Mapping[str, tuple[Sequence[ValueType | str], Primitive]] = {
    "lower": ((BYTES,), BYTES),
    "upper": ((BYTES,), BYTES),
    "len": ((BYTES,), INT),
    "starts_with": ((BYTES, BYTES), BOOL),
    "ends_with": ((BYTES, BYTES), BOOL),
    "url_decode": ((BYTES,), BYTES),
    "to_string": ((INT,), BYTES),
    "regex_replace": ((BYTES, "regex", "literal"), BYTES),
    "concat": ((), BYTES),
}
