"""The analytics' minute figures: wait percentiles, merging nodes' rows, summaries, time on origin."""

from __future__ import annotations

import math
import random

from hypothesis import given
from hypothesis import strategies as st

from antechamber.core.analytics import (
    MINUTE_MS,
    MinuteFigures,
    bucket_ms,
    merge,
    percentile_ms,
    renewal_accrual_ms,
    summarise,
    wait_bucket,
)
from antechamber.core.counters import RoomSnapshot
from antechamber.core.decide import decide
from antechamber.core.ticket import Ticket
from antechamber.core.types import RENEW_STEP_MS, RequestFacts, RoomConfig

WAITS = st.lists(st.integers(min_value=0, max_value=6 * 3600 * 1000), min_size=1, max_size=300)


def _true_percentile(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * q / 100)) - 1]


@given(WAITS, st.sampled_from([50, 90, 99, 100]))
def test_a_percentile_read_back_is_within_five_percent(waits: list[int], q: float) -> None:
    """The histogram's percentile is the true one to 4.5 % (under a second reads as 0)."""
    figures = MinuteFigures()
    for wait in waits:
        figures.add_wait(wait)
    got, true = percentile_ms(figures.waits, q), _true_percentile(waits, q)
    assert got is not None
    if true < 1000:
        assert got == 0
    else:
        assert abs(got - true) <= 0.045 * true + 1


@given(st.integers(min_value=1000, max_value=10**9))
def test_a_bucket_stands_for_the_waits_in_it(wait_ms: int) -> None:
    """A wait's bucket reads back within 4.5 % of it."""
    assert abs(bucket_ms(wait_bucket(wait_ms)) - wait_ms) <= 0.045 * wait_ms + 1


def test_an_empty_histogram_has_no_percentile() -> None:
    """Nobody let in: no wait to report."""
    assert percentile_ms({}, 50) is None


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 500), st.lists(st.integers(0, 10**6), max_size=5))))
def test_merging_nodes_adds_counters_and_takes_the_largest_gauge(parts: list[tuple[int, int, list[int]]]) -> None:
    """Nodes' rows merge into one minute: admissions and waits add up, the sampled peak is the largest."""
    rows = []
    for admitted, queued, waits in parts:
        figures = MinuteFigures(admitted=admitted)
        figures.sample(active=0, queued=queued, active_limit=100, new_users_limit=60)
        for wait in waits:
            figures.add_wait(wait)
        rows.append(figures)
    merged = merge(rows)
    assert merged.admitted == sum(p[0] for p in parts)
    assert merged.queued_max == max((p[1] for p in parts), default=0)
    assert sum(merged.waits.values()) == sum(len(p[2]) for p in parts)
    assert merge([merge(rows[:2]), merge(rows[2:])]) == merged


def test_a_summary_gives_totals_peaks_and_the_longest_wait() -> None:
    """An event's brief: admissions and rejections added, peaks the largest, the longest wait its bucket's."""
    first = MinuteFigures(admitted=3, rejected=1, active_max=10, queued_max=40)
    second = MinuteFigures(admitted=2, active_max=12, queued_max=35)
    for wait in (0, 20_000, 60_000):
        first.add_wait(wait)
    second.add_wait(120_000)
    brief = summarise([first, second])
    assert (brief.minutes, brief.admitted, brief.rejected, brief.peak_active, brief.peak_queued) == (2, 5, 1, 12, 40)
    assert brief.longest_wait_ms is not None and abs(brief.longest_wait_ms - 120_000) <= 0.045 * 120_000


def test_a_quiet_minute_is_empty() -> None:
    """Nobody there and nothing counted: no row is written for it."""
    assert MinuteFigures().empty()
    assert not MinuteFigures(revoked=1).empty()
    assert not MinuteFigures(renewals=1).empty()


T0 = 1_800_000_000_000
ROOM = RoomConfig(room_id="r", total_active_users=100, new_users_per_minute=100, session_duration=5)
#: Gaps between one visitor's requests: bursts, pauses, never long enough for the session to expire.
GAPS = st.lists(st.integers(min_value=0, max_value=4 * MINUTE_MS), max_size=40)


def _session(gaps: list[int]) -> tuple[Ticket, list[tuple[int, int, int]], int]:
    """A visitor let in at T0 who then makes requests ``gaps`` apart, through the real decision core.

    Returns the admitted ticket, each renewal as (time, accrued, age), and the last request's time.
    """
    rng = random.Random(1)
    admitted = decide(ROOM, RoomSnapshot(T0), None, RequestFacts(), T0, rng).ticket
    assert admitted is not None and admitted.accepted_ms == T0
    ticket, now, renewals = admitted, T0, []
    for gap in gaps:
        now += gap
        decision = decide(ROOM, RoomSnapshot(now), ticket, RequestFacts(), now, rng)
        assert decision.reason == "session" and decision.ticket is not None
        if decision.deltas:  # a renewal
            renewals.append((now, renewal_accrual_ms(ticket, decision.ticket, now), now - ticket.accepted_ms))
        ticket = decision.ticket
    return admitted, renewals, now


@given(GAPS)
def test_a_sessions_renewals_add_up_to_its_time_on_origin(gaps: list[int]) -> None:
    """The accruals sum to admission → last renewal: the true time on origin, less under one renewal step."""
    admitted, renewals, last_request = _session(gaps)
    accrued = sum(accrual for _, accrual, _ in renewals)
    assert accrued == (renewals[-1][0] - T0 if renewals else 0)
    true = last_request - admitted.accepted_ms
    assert true - RENEW_STEP_MS < accrued <= true


@given(st.lists(GAPS, max_size=6), st.randoms(use_true_random=False))
def test_time_on_origin_is_the_same_however_the_renewals_are_spread(
    sessions: list[list[int]], rng: random.Random
) -> None:
    """Renewals counted on any node in any minute merge to the same totals, mean and longest session."""
    rows: dict[tuple[int, int], MinuteFigures] = {}
    expected_ms, longest = 0, 0
    for gaps in sessions:
        _, renewals, _ = _session(gaps)
        for now, accrual, age in renewals:
            rows.setdefault((rng.randrange(3), now // MINUTE_MS), MinuteFigures()).add_renewal(accrual, age)
            expected_ms, longest = expected_ms + accrual, max(longest, age)
    rows.setdefault((0, T0 // MINUTE_MS), MinuteFigures()).admitted += len(sessions)
    by_minute: dict[int, list[MinuteFigures]] = {}
    for (_, minute), figures in rows.items():
        by_minute.setdefault(minute, []).append(figures)
    brief = summarise(merge(parts) for parts in by_minute.values())
    assert brief.time_on_origin_ms == expected_ms
    assert brief.renewals == sum(f.renewals for f in rows.values())
    assert brief.time_on_origin_avg_ms == (round(expected_ms / len(sessions)) if sessions else None)
    assert brief.longest_time_on_origin_ms == (longest if brief.renewals else None)


def test_a_renewal_never_accrues_more_than_the_sessions_age() -> None:
    """When session_duration grew meanwhile, the expiry moves by more than the time passed: the age caps it."""
    before = Ticket(T0, 0, 0, T0, T0, T0 + 5 * MINUTE_MS)
    after = Ticket(T0, 0, 0, T0, T0, T0 + 10_000 + 10 * MINUTE_MS)  # renewed 10 s in under a 10-minute duration
    assert 10_000 == renewal_accrual_ms(before, after, T0 + 10_000)
