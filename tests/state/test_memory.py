"""The in-process backend: exact counters, expiry, and memory bounded by buckets, not visitors."""

from __future__ import annotations

import gc
import tracemalloc

from antechamber.core.counters import Deltas
from antechamber.core.types import OUTFLOW_WINDOW_S, REFRESH_BUCKET_MS
from antechamber.state.base import RoomState
from antechamber.state.memory import MemoryState
from antechamber.state.waiting import WaitingCounters

NOW = 1_800_000_000_000
S = NOW // 1000
MB = 1 << 20


def test_memory_state_satisfies_the_protocol() -> None:
    """MemoryState implements the RoomState port the gateway and simulator use."""
    state: RoomState = MemoryState()
    assert state.snapshot("r", NOW).active == 0


def test_active_counts_until_the_expiry_second_passes() -> None:
    """A session counted by its expiry second is active through that second and gone after it."""
    st = MemoryState()
    st.apply("r", Deltas(active=((S + 60, 1), (S + 120, 2))), NOW)
    assert st.snapshot("r", NOW).active == 3
    assert st.snapshot("r", NOW + 60_999).active == 3
    assert st.snapshot("r", NOW + 61_000).active == 2
    assert st.snapshot("r", NOW + 121_000).active == 0


def test_moves_into_expired_seconds_are_ignored() -> None:
    """A departure for a session whose second already expired does not lower the active count."""
    st = MemoryState()
    st.apply("r", Deltas(active=((S + 1, 1), (S + 100, 1))), NOW)
    st.apply("r", Deltas(active=((S + 1, -1),)), NOW + 5_000)
    assert st.snapshot("r", NOW + 5_000).active == 1


def test_long_idle_gap_expires_everything() -> None:
    """After a gap longer than any session, nothing is left counted."""
    st = MemoryState()
    st.apply("r", Deltas(active=((S + 1800, 5),), admitted=5, queue_open=True, admitted_open=5), NOW)
    snap = st.snapshot("r", NOW + 10 * 3600_000)
    assert (snap.active, snap.admitted_last_minute, snap.open_seconds, snap.admitted_open) == (0, 0, 0, 0)


def test_admission_history_windows() -> None:
    """admitted_last_minute covers 60 s; the outflow history covers the longer window and open seconds only."""
    st = MemoryState()
    st.apply("r", Deltas(admitted=3), NOW)  # straight in: not outflow from a queue
    st.apply("r", Deltas(admitted=2, queue_open=True, admitted_open=2), NOW + 10_000)
    snap = st.snapshot("r", NOW + 30_000)
    assert (snap.admitted_last_minute, snap.open_seconds, snap.admitted_open) == (5, 1, 2)
    snap = st.snapshot("r", NOW + 65_000)
    assert (snap.admitted_last_minute, snap.open_seconds, snap.admitted_open) == (2, 1, 2)
    snap = st.snapshot("r", NOW + 10_000 + OUTFLOW_WINDOW_S * 1000)
    assert (snap.admitted_last_minute, snap.open_seconds, snap.admitted_open) == (0, 0, 0)


def test_pace_schedule_advances_from_now_or_its_backlog() -> None:
    """The paced budget's schedule starts from now when idle and accumulates when busy."""
    st = MemoryState()
    st.apply("r", Deltas(admitted=1, pace_us=300_000), NOW)
    assert st.snapshot("r", NOW).pace_tat_us == NOW * 1000 + 300_000
    st.apply("r", Deltas(admitted=1, pace_us=300_000), NOW)
    assert st.snapshot("r", NOW).pace_tat_us == NOW * 1000 + 600_000
    st.apply("r", Deltas(admitted=1, pace_us=300_000), NOW + 10_000)
    assert st.snapshot("r", NOW + 10_000).pace_tat_us == (NOW + 10_000) * 1000 + 300_000


def test_rooms_are_independent_and_droppable() -> None:
    """Each room has its own counters; a deleted room's counters can be dropped."""
    st = MemoryState()
    st.apply("a", Deltas(active=((S + 60, 1),)), NOW)
    assert st.snapshot("b", NOW).active == 0
    st.drop_room("a")
    assert st.snapshot("a", NOW).active == 0


def _fill(st: MemoryState, now_ms: int, visitors: int, span_s: int) -> int:
    """Queue ``visitors`` people arriving evenly over ``span_s`` seconds, in batches of merged deltas.

    Each arrival second's crowd is split over three of the 31 live refresh buckets,
    rotating so every bucket's row spans the whole range (the worst case for the
    dense rows). Returns how many arrived in the first half of the span.
    """
    buckets = [now_ms // REFRESH_BUCKET_MS - k for k in range(31)]
    per_second, extra = divmod(visitors, span_s)
    batch: list[tuple[int, int, int]] = []
    first_half = 0
    for s in range(span_s):
        n = per_second + (1 if s < extra else 0)
        if s < span_s // 2:
            first_half += n
        third = n // 3
        for j, count in enumerate((third, third, n - 2 * third)):
            batch.append((S + s, buckets[(s + j * 11) % 31], count))
        if len(batch) >= 30_000:
            st.apply("r", Deltas(waiting=tuple(batch)), now_ms)
            batch.clear()
    st.apply("r", Deltas(waiting=tuple(batch)), now_ms)
    return first_half


def test_ten_million_queued_visitors_fit_in_64_mb() -> None:
    """10 million people waiting, arrivals spread over 24 hours, all 31 refresh buckets live: ≤ 64 MB."""
    st = MemoryState()
    now_ms = NOW + 86_400_000
    first_half = _fill(st, now_ms, 10_000_000, 86_400)
    snap = st.snapshot("r", now_ms)
    assert snap.waiting == 10_000_000
    assert isinstance(snap.queue, WaitingCounters)
    assert snap.queue.ahead_all(S + 43_200) == first_half
    assert st.memory_bytes() <= 64 * MB


def test_memory_bytes_agrees_with_the_allocator() -> None:
    """memory_bytes() is within 25 % of what tracemalloc sees being allocated for the counters."""
    st = MemoryState()
    now_ms = NOW + 7_200_000
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        _fill(st, now_ms, 1_000_000, 7_200)
        gc.collect()
        traced = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert abs(st.memory_bytes() - traced) <= 0.25 * traced
