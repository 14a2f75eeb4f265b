"""Differential tests against Cloudflare's own parser (wirefilter, through octorules-wirefilter).

Over generated valid expressions and token-level breakages of them, our parser
and checker accept exactly what Cloudflare's engine accepts. The vocabulary is
the fields and functions waiting room rules offer here; the fields Cloudflare
excludes (and its engine would accept) are tested apart, in test_parse.py.
"""

from __future__ import annotations

import octorules_wirefilter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from antechamber.rules.check import RuleContext
from antechamber.rules.validate import ExpressionError, checked_expression
from tests.rules.expressions import LISTS, broken, expression

CONTEXT = RuleContext(lists=dict.fromkeys(LISTS, "ip"), geo=True)


def cloudflare_accepts(text: str) -> bool:
    return "error" not in octorules_wirefilter.parse_expression(text)


def we_accept(text: str) -> bool:
    try:
        checked_expression(text, CONTEXT)
    except ExpressionError:
        return False
    return True


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(expression(), broken()))
def test_accepts_exactly_what_cloudflare_accepts(text: str) -> None:
    """Valid and broken expressions alike: our verdict is wirefilter's verdict."""
    if not text.strip():
        return  # wirefilter takes an empty filter (match all); a bypass rule must say what it bypasses
    assert we_accept(text) == cloudflare_accepts(text), text


def test_corpus_has_both_verdicts() -> None:
    """The generated corpus is not one-sided: it holds accepted and refused expressions."""
    verdicts: set[bool] = set()

    @settings(max_examples=200, deadline=None, database=None)
    @given(broken())
    def collect(text: str) -> None:
        verdicts.add(cloudflare_accepts(text))

    collect()
    assert verdicts == {True, False}


def test_empty_expression_is_the_one_known_difference() -> None:
    """wirefilter accepts an empty filter; we refuse it, since a rule matching everything would empty the room."""
    assert cloudflare_accepts("")
    assert not we_accept("")
