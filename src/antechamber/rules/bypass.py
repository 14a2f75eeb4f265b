"""A room's stored bypass rules as one compiled matcher, rebuilt only when they or their lists change.

The gateway builds a new configuration on every store change, for every room;
compiling is a parse, a check and a ``compile()`` per rule, so matchers are
kept by content and a room whose rules did not change reuses its own.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from antechamber.rules.check import RuleContext
from antechamber.rules.compile import ListItems, Matcher, compile_rules, never
from antechamber.rules.parse import ExpressionError
from antechamber.rules.syntax import Expression
from antechamber.rules.validate import checked_expression, list_references

logger = logging.getLogger(__name__)

#: Matchers kept; each room with rules holds one.
_CACHE_MAX = 4096
_cache: dict[tuple[Any, ...], Matcher] = {}


def room_matcher(
    room_id: str, rules: Sequence[Mapping[str, Any]], lists: Mapping[str, ListItems], *, geo: bool
) -> Matcher:
    """The matcher of a room's rules (stored bodies, in order) against the account's lists.

    A rule that no longer checks here (its list is gone, or this node has no geo
    database) is logged and left out: it never bypasses, so its visitors wait
    rather than skip the line.
    """
    if not rules:
        return never
    named = set().union(*(list_references(str(rule.get("expression", ""))) for rule in rules))
    used = {name: lists[name] for name in sorted(named) if name in lists}
    key = (
        tuple((str(rule.get("expression", "")), rule.get("enabled", True) is not False) for rule in rules),
        tuple((name, kind, tuple(items)) for name, (kind, items) in used.items()),
        geo,
    )
    matcher = _cache.get(key)
    if matcher is None:
        matcher = _compile(room_id, key[0], used, geo=geo)
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[key] = matcher
    return matcher


def _compile(room_id: str, rules: Sequence[tuple[str, bool]], lists: Mapping[str, ListItems], *, geo: bool) -> Matcher:
    context = RuleContext(lists={name: kind for name, (kind, _) in lists.items()}, geo=geo)
    checked: list[tuple[Expression, bool]] = []
    for position, (expression, enabled) in enumerate(rules):
        try:
            checked.append((checked_expression(expression, context), enabled))
        except ExpressionError as exc:
            logger.error("room %s: bypass rule %d is left out: %s", room_id, position + 1, exc)
            checked.append((checked_expression("ssl and not ssl"), False))  # keeps positions
    return compile_rules(checked, lists)
