"""The analytics' minute figures: wait percentiles, merging nodes' rows, summaries."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from antechamber.core.analytics import MinuteFigures, bucket_ms, merge, percentile_ms, summarise, wait_bucket

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
