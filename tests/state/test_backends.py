"""The state contract, run against every backend: the in-process one and Redis (a real server)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from antechamber.core.counters import Deltas
from antechamber.core.types import CAP_WINDOW_S, OUTFLOW_WINDOW_S, PRESENT_MS, QUEUE_PLACE_HOLD_MS, REFRESH_BUCKET_MS
from tests.state.backends import BACKENDS, Backend, Clock

NOW = 1_800_000_000_000
S = NOW // 1000
B = NOW // REFRESH_BUCKET_MS


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    """Each backend in turn; Redis is a real server (started by the tests when none runs)."""
    url = request.getfixturevalue("redis_server_url") if request.param == "redis" else None
    harness = Backend(request.param, url, Clock(NOW))
    try:
        yield harness
    finally:
        await harness.aclose()


async def test_active_counts_until_the_expiry_second_passes(backend: Backend) -> None:
    """A session counted by its expiry second is active through that second and gone after it."""
    st = backend.node()
    st.apply("r", Deltas(active=((S + 60, 1), (S + 120, 2))), NOW)
    await backend.settle()
    assert st.snapshot("r", NOW).active == 3
    assert st.snapshot("r", NOW + 60_999).active == 3
    assert st.snapshot("r", NOW + 61_000).active == 2
    backend.clock.now_ms = NOW + 121_000
    await backend.settle()
    assert st.snapshot("r", NOW + 121_000).active == 0


async def test_the_earliest_session_end_is_known(backend: Backend) -> None:
    """next_expiry_s is the earliest second still holding a session: past ones and emptied ones do not count."""
    st = backend.node()
    assert st.snapshot("r", NOW).next_expiry_s == 0
    # More expiry seconds than the in-process state reads whole, with a gap before the first.
    st.apply("r", Deltas(active=tuple((S + 200 + k, 1) for k in range(100))), NOW)
    st.apply("r", Deltas(active=((S + 90, 1),)), NOW)
    await backend.settle()
    assert st.snapshot("r", NOW).next_expiry_s == S + 90
    st.apply("r", Deltas(active=((S + 50, 1),)), NOW)  # earlier than the one found
    await backend.settle()
    assert st.snapshot("r", NOW).next_expiry_s == S + 50
    st.apply("r", Deltas(active=((S + 50, -1),)), NOW)
    st.apply("r", Deltas(active=((S + 90, -1), (S + 400, 1))), NOW)  # renewed past the others
    await backend.settle()
    assert st.snapshot("r", NOW).next_expiry_s == S + 200
    backend.clock.now_ms = NOW + 250_000
    await backend.settle()
    assert st.snapshot("r", NOW + 250_000).next_expiry_s == S + 250


async def test_moves_into_expired_seconds_are_ignored(backend: Backend) -> None:
    """A departure for a session whose second already expired does not lower the active count."""
    st = backend.node()
    st.apply("r", Deltas(active=((S + 1, 1), (S + 100, 1))), NOW)
    await backend.settle()
    backend.clock.now_ms = NOW + 5_000
    st.apply("r", Deltas(active=((S + 1, -1),)), NOW + 5_000)
    await backend.settle()
    assert st.snapshot("r", NOW + 5_000).active == 1


async def test_admission_history_windows(backend: Backend) -> None:
    """admitted_last_minute covers 60 s; the outflow history covers the longer window and open seconds only."""
    st = backend.node()
    st.apply("r", Deltas(admitted=3), NOW)  # straight in: not outflow from a queue
    await backend.settle()
    backend.clock.now_ms = NOW + 10_000
    st.apply("r", Deltas(admitted=2, queue_open=True, admitted_open=2), NOW + 10_000)
    await backend.settle()
    backend.clock.now_ms = NOW + 30_000
    await backend.settle()
    snap = st.snapshot("r", NOW + 30_000)
    assert (snap.admitted_last_minute, snap.open_seconds, snap.admitted_open) == (5, 1, 2)
    backend.clock.now_ms = NOW + 65_000
    await backend.settle()
    snap = st.snapshot("r", NOW + 65_000)
    assert (snap.admitted_last_minute, snap.open_seconds, snap.admitted_open) == (2, 1, 2)
    backend.clock.now_ms = NOW + 10_000 + OUTFLOW_WINDOW_S * 1000
    await backend.settle()
    snap = st.snapshot("r", backend.clock.now_ms)
    assert (snap.admitted_last_minute, snap.open_seconds, snap.admitted_open) == (0, 0, 0)


async def test_the_minute_ages_between_syncs(backend: Backend) -> None:
    """Admissions leave admitted_last_minute as the second they were made in leaves the cap's window.

    However late they were synced, and whether a sync came since or not.
    """
    st = backend.node()
    st.apply("r", Deltas(admitted=3), NOW)  # synced only 30 s later
    backend.clock.now_ms = NOW + 30_000
    st.apply("r", Deltas(admitted=2), NOW + 30_000)
    await backend.settle()
    assert st.snapshot("r", NOW + (CAP_WINDOW_S - 1) * 1000).admitted_last_minute == 5
    assert st.snapshot("r", NOW + CAP_WINDOW_S * 1000).admitted_last_minute == 2


async def test_pace_schedule_advances_from_now_or_its_backlog(backend: Backend) -> None:
    """The paced budget's schedule starts from now when idle and accumulates when busy."""
    st = backend.node()
    st.apply("r", Deltas(admitted=1, pace_us=300_000), NOW)
    st.apply("r", Deltas(admitted=1, pace_us=300_000), NOW)
    await backend.settle()
    assert st.snapshot("r", NOW).pace_tat_us == NOW * 1000 + 600_000
    backend.clock.now_ms = NOW + 10_000
    st.apply("r", Deltas(admitted=1, pace_us=300_000), NOW + 10_000)
    await backend.settle()
    assert st.snapshot("r", NOW + 10_000).pace_tat_us == (NOW + 10_000) * 1000 + 300_000


async def test_rooms_are_independent(backend: Backend) -> None:
    """Each room has its own counters."""
    st = backend.node()
    st.apply("a", Deltas(active=((S + 60, 1),)), NOW)
    await backend.settle("a", "b")
    assert (st.snapshot("a", NOW).active, st.snapshot("b", NOW).active) == (1, 0)


async def test_queue_order_and_presence(backend: Backend) -> None:
    """Places count ahead by second; a counted refresh keeps the place; absent users stop blocking, then drop."""
    st = backend.node()
    st.apply("r", Deltas(waiting=((S - 30, B, 2), (S - 20, B, 1), (S - 10, B, 4))), NOW)
    await backend.settle()
    snap = st.snapshot("r", NOW)
    assert (snap.waiting, snap.present) == (7, 7)
    assert [snap.queue.ahead(s) for s in (S - 30, S - 20, S - 10, S)] == [0, 2, 3, 7]
    # Only the user at S - 20 keeps refreshing: the others stop being present, then lose their places.
    t = NOW + PRESENT_MS + REFRESH_BUCKET_MS
    backend.clock.now_ms = t
    st.apply("r", Deltas(waiting=((S - 20, B, -1), (S - 20, t // REFRESH_BUCKET_MS, 1))), t)
    await backend.settle()
    snap = st.snapshot("r", t)
    assert (snap.waiting, snap.present, snap.queue.ahead(S)) == (7, 1, 1)
    t2 = NOW + QUEUE_PLACE_HOLD_MS + 2 * REFRESH_BUCKET_MS
    backend.clock.now_ms = t2
    await backend.settle()
    snap = st.snapshot("r", t2)
    assert snap.waiting == 1


async def test_a_user_let_in_is_ahead_of_nobody_at_once(backend: Backend) -> None:
    """On the node that let them in, users admitted out of the line stop counting as ahead before any sync."""
    st = backend.node()
    st.apply("r", Deltas(waiting=((S - 30, B, 2), (S - 20, B, 1))), NOW)
    await backend.settle()
    for _ in range(2):
        st.apply("r", Deltas(active=((S + 300, 1),), waiting=((S - 30, B, -1),), admitted=1), NOW)
    assert [st.snapshot("r", NOW).queue.ahead(s) for s in (S - 20, S)] == [0, 1]
    await backend.settle()  # and after it, counted once
    assert [st.snapshot("r", NOW).queue.ahead(s) for s in (S - 20, S)] == [0, 1]


async def test_a_place_is_never_taken_twice(backend: Backend) -> None:
    """Taking a place out of an empty slot (a repeat) leaves the others' counts alone."""
    st = backend.node()
    st.apply("r", Deltas(waiting=((S - 5, B, 1),)), NOW)
    await backend.settle()
    st.apply("r", Deltas(waiting=((S - 5, B, -1),), admitted=1, moves_visitor=True), NOW)
    st.apply("r", Deltas(waiting=((S - 5, B, -1),), admitted=1, moves_visitor=True), NOW)
    await backend.settle()
    assert st.snapshot("r", NOW).waiting == 0
    st.apply("r", Deltas(waiting=((S - 4, B, 1),)), NOW)
    await backend.settle()
    assert st.snapshot("r", NOW).waiting == 1


async def test_a_repeated_renewal_moves_the_session_once(backend: Backend) -> None:
    """Parallel requests renewing one session move it once, so the active count does not grow."""
    st = backend.node()
    st.apply("r", Deltas(active=((S + 60, 1),)), NOW)
    await backend.settle()
    renewal = Deltas(active=((S + 60, -1), (S + 90, 1)), moves_visitor=True)
    st.apply("r", renewal, NOW)
    st.apply("r", renewal, NOW)
    await backend.settle()
    assert st.snapshot("r", NOW).active == 1
    assert st.snapshot("r", NOW + 61_000).active == 1


async def test_every_node_sees_the_totals_of_all(backend: Backend) -> None:
    """Deltas applied on different nodes add up in every node's snapshot once they have synced."""
    one, two = backend.node(), backend.node()
    one.apply("r", Deltas(active=((S + 60, 2),), admitted=2), NOW)
    two.apply("r", Deltas(active=((S + 90, 3),), admitted=3, waiting=((S - 1, B, 4),)), NOW)
    await backend.settle()
    for st in (one, two):
        snap = st.snapshot("r", NOW)
        assert (snap.active, snap.admitted_last_minute, snap.waiting) == (5, 5, 4)


async def test_read_reports_every_node(backend: Backend) -> None:
    """``read`` (the status API's view) sees what other nodes merged without any local traffic."""
    one, viewer = backend.node(), backend.node()
    one.apply("r", Deltas(active=((S + 60, 2),), waiting=((S - 1, B, 3),)), NOW)
    await backend.settle()
    snap = await viewer.read("r", NOW)
    assert (snap.active, snap.waiting) == (2, 3)


async def test_peek_reads_without_counting(backend: Backend) -> None:
    """``peek`` reports what a snapshot would and leaves no room behind for a room nobody asked about."""
    st = backend.node()
    assert st.peek("idle", NOW).active == 0
    assert st.memory_bytes() == backend.node().memory_bytes()
    st.apply("r", Deltas(active=((S + 60, 2),), waiting=((S - 1, B, 3),)), NOW)
    await backend.settle()
    peeked, seen = st.peek("r", NOW), st.snapshot("r", NOW)
    assert (peeked.active, peeked.waiting) == (seen.active, seen.waiting) == (2, 3)
