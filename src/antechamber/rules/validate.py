"""The one gate every rule expression passes before it is stored.

For now this catches only input that can never be a valid expression (empty,
over-long, unbalanced brackets or quotes). The full parser of Cloudflare's
Rules language will replace the body of :func:`validate_expression` without
changing its callers.
"""

from __future__ import annotations

#: Cloudflare documents no limit; 4 KiB is the Ruleset Engine's usual one.
MAX_EXPRESSION_LENGTH = 4096

_CLOSERS = {")": "(", "}": "{", "]": "["}


class ExpressionError(ValueError):
    """The expression is not acceptable."""


def validate_expression(expression: str) -> None:
    """Raise :class:`ExpressionError` when ``expression`` cannot be a valid rule expression."""
    if not expression.strip():
        raise ExpressionError("the expression is empty")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_EXPRESSION_LENGTH} characters")
    _check_balanced(expression)


def _check_balanced(expression: str) -> None:
    stack: list[str] = []
    quoted = False
    escaped = False
    for char in expression:
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
            continue
        if char == '"':
            quoted = True
        elif char in "({[":
            stack.append(char)
        elif char in _CLOSERS:
            if not stack or stack.pop() != _CLOSERS[char]:
                raise ExpressionError(f"unbalanced {char!r} in the expression")
    if quoted:
        raise ExpressionError("unterminated string in the expression")
    if stack:
        raise ExpressionError(f"unclosed {stack[-1]!r} in the expression")
