"""Deltas and snapshots: merging for batched backends, folding for reused snapshots."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from antechamber.core.counters import NO_DELTAS, Deltas, FrozenQueue, RoomSnapshot, merge_deltas
from antechamber.core.types import REFRESH_BUCKET_MS
from antechamber.state.memory import MemoryState
from antechamber.state.waiting import WaitingCounters

NOW = 1_800_000_000_000
S = NOW // 1000

deltas = st.builds(
    Deltas,
    active=st.lists(st.tuples(st.integers(S, S + 600), st.sampled_from([-1, 1])), max_size=3).map(tuple),
    waiting=st.lists(
        st.tuples(st.integers(S - 100, S), st.integers(NOW // 10_000 - 2, NOW // 10_000), st.just(1)), max_size=3
    ).map(tuple),
    admitted=st.integers(0, 1),
    pace_us=st.integers(0, 1000),
    queue_open=st.booleans(),
    admitted_open=st.integers(0, 1),
)


@settings(deadline=None)  # a loaded CI box must not turn slowness into failures
@given(st.lists(deltas, max_size=20))
def test_merged_deltas_apply_like_the_sequence(batch: list[Deltas]) -> None:
    """Applying the merge of a batch gives the same counters as applying each delta at the same instant."""
    one, many = MemoryState(), MemoryState()
    one.apply("r", merge_deltas(batch), NOW)
    for d in batch:
        many.apply("r", d, NOW)
    a, b = one.snapshot("r", NOW), many.snapshot("r", NOW)
    assert (a.active, a.waiting, a.admitted_last_minute, a.open_seconds, a.admitted_open) == (
        b.active,
        b.waiting,
        b.admitted_last_minute,
        b.open_seconds,
        b.admitted_open,
    )
    assert a.queue.ahead(S + 1) == b.queue.ahead(S + 1)


def test_renewal_moves_cancel_in_a_merge() -> None:
    """A move out of and back into the same second disappears from the merged batch."""
    merged = merge_deltas([Deltas(active=((S + 10, -1), (S + 20, 1))), Deltas(active=((S + 20, -1), (S + 10, 1)))])
    assert merged == NO_DELTAS


def test_folding_deltas_into_a_snapshot() -> None:
    """with_deltas adds admissions, active and waiting changes, and advances the pace schedule."""
    snap = RoomSnapshot(now_ms=NOW, active=5, waiting=7)
    folded = snap.with_deltas(Deltas(active=((S + 60, 1),), waiting=((S, 1, -1),), admitted=1, pace_us=100))
    assert (folded.active, folded.waiting, folded.admitted_last_minute) == (6, 6, 1)
    assert folded.pace_tat_us == NOW * 1000 + 100
    assert snap.with_deltas(NO_DELTAS) is snap


@settings(deadline=None)
@given(st.dictionaries(st.integers(S - 500, S + 500), st.integers(0, 50), max_size=40), st.integers(S - 600, S + 600))
def test_frozen_queue_answers_like_the_live_counters(counts: dict[int, int], probe: int) -> None:
    """A frozen view built from per-second counts answers ahead() like the live counters it was taken from."""
    live = WaitingCounters()
    bucket = NOW // REFRESH_BUCKET_MS
    for second, n in counts.items():
        if n:
            live.add(second, bucket, n)
    live.expire(NOW)
    frozen = FrozenQueue(live.present_by_second())
    assert frozen.ahead(probe) == live.ahead(probe) == sum(n for s, n in counts.items() if s < probe)
