"""The one gate every rule expression passes: at the API before it is stored, in the gateway before it runs.

:func:`checked_expression` parses and type-checks; the API turns its
:class:`ExpressionError` into a 400 naming the line and column, and the
gateway compiles the tree it returns. The limits below are documented in docs/RULES.md.
"""

from __future__ import annotations

from antechamber.rules.check import RuleContext, check
from antechamber.rules.parse import ExpressionError, parse
from antechamber.rules.syntax import Bare, Call, Comparison, Expression, Index, InList, InSet, Logical, Not, Wildcard

#: Cloudflare documents no limit; 4 KiB is the Ruleset Engine's usual one.
MAX_EXPRESSION_LENGTH = 4096
#: Rules per room (Cloudflare documents none; a room's rules run on every request it covers).
MAX_RULES = 100
#: Nesting of parentheses, ``not`` and function calls.
MAX_DEPTH = 32

__all__ = [
    "MAX_EXPRESSION_LENGTH",
    "MAX_RULES",
    "ExpressionError",
    "RuleContext",
    "check_size",
    "checked_expression",
    "list_references",
]


def list_references(text: str) -> set[str]:
    """The list names an expression refers to (``$office``); none when it does not parse."""
    try:
        tree = parse(text)
    except (ExpressionError, RecursionError):
        return set()
    return {node.name for node in _walk(tree) if isinstance(node, InList)}


def _walk(node: object) -> list[object]:
    found = [node]
    for child in _children(node):
        found.extend(_walk(child))
    return found


def _children(node: object) -> tuple[object, ...]:
    match node:
        case Logical(_, operands):
            return operands
        case Not(operand):
            return (operand,)
        case Call(_, args):
            return args
    return ()


def check_size(text: str) -> None:
    """Raise :class:`ExpressionError` for an empty or over-long expression (the checks that need no context)."""
    if not text.strip():
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_EXPRESSION_LENGTH} characters")


def checked_expression(text: str, context: RuleContext | None = None) -> Expression:
    """The syntax tree of ``text`` after every check; raises :class:`ExpressionError` naming the place."""
    check_size(text)
    try:
        tree = parse(text)
        if _depth(tree) > MAX_DEPTH:
            raise ExpressionError(f"the expression nests deeper than {MAX_DEPTH} levels")
        check(tree, context or RuleContext())
    except RecursionError:
        raise ExpressionError(f"the expression nests deeper than {MAX_DEPTH} levels") from None
    return tree


def validate_expression(text: str, context: RuleContext | None = None) -> None:
    """Raise :class:`ExpressionError` unless ``text`` is a valid rule expression in ``context``."""
    checked_expression(text, context)


def _depth(node: object) -> int:
    match node:
        case Logical(_, operands):
            return 1 + max(_depth(operand) for operand in operands)
        case Not(operand):
            return 1 + _depth(operand)
        case Comparison(left, _, right):
            return 1 + max(_depth(left), _depth(right))
        case Wildcard(left) | InSet(left) | InList(left):
            return 1 + _depth(left)
        case Call(_, args):
            return 1 + max((_depth(arg) for arg in args), default=0)
        case Index(base):
            return 1 + _depth(base)
        case Bare(value):
            return 1 + _depth(value)
    return 1
