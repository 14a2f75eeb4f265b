"""Free slots: total_active_users and the paced new_users_per_minute budget together."""

from __future__ import annotations

import random

from antechamber.core.counters import RoomSnapshot
from antechamber.core.decide import decide, fifo_window, free_slots, minute_cap
from antechamber.core.types import PACE_BURST_MS, Outcome
from tests.core.harness import MINUTE, NO_FACTS, SECOND, T0, Room, Visitor, room_config


def test_total_active_users_caps_admissions() -> None:
    """A surge larger than total_active_users admits exactly that many and queues the rest."""
    room = Room(room_config(total_active_users=200, new_users_per_minute=1000))
    visitors = room.arrive(500)
    admitted = [v for v in visitors if v.admitted]
    assert len(admitted) == 200 and room.snapshot().active == 200 and room.snapshot().waiting == 300


def test_new_user_budget_is_paced_not_spent_at_the_minute_start() -> None:
    """A burst at the start of a minute gets only part of new_users_per_minute (the paced burst)."""
    room = Room(room_config(total_active_users=100_000, new_users_per_minute=600))
    visitors = room.arrive(1000)
    burst = sum(v.admitted for v in visitors)
    assert burst == 600 * PACE_BURST_MS // MINUTE + 1
    assert burst < 600


def test_new_user_budget_is_used_and_bounded_per_minute() -> None:
    """Refreshing queued users get the budget through the minute; no 60 s holds more than the minute cap."""
    nupm = 600
    room = Room(room_config(total_active_users=100_000, new_users_per_minute=nupm))
    visitors = room.arrive(5000)
    per_second: list[int] = []
    for _ in range(180):
        room.advance(SECOND)
        before = room.snapshot().active
        # A twentieth of the queue refreshes every second: each visitor every 20 s.
        phase = (room.now // SECOND) % 20
        room.refresh_all(visitors[phase::20])
        per_second.append(room.snapshot().active - before)
    windows = [sum(per_second[i : i + 60]) for i in range(len(per_second) - 59)]
    assert max(windows) <= minute_cap(room.config)
    # The pace keeps the long run at the budget: three minutes hold three minutes' worth plus the burst.
    assert sum(per_second) <= 3 * nupm + nupm * PACE_BURST_MS // MINUTE + 1
    assert sum(per_second[60:180]) >= 0.97 * 2 * nupm  # the last two minutes use the budget


def test_free_slots_is_the_smaller_of_the_two_limits() -> None:
    """free = min(total_active_users - active, new-user budget now)."""
    cfg = room_config(total_active_users=1000, new_users_per_minute=600)
    assert free_slots(cfg, RoomSnapshot(now_ms=T0, active=990), T0) == 10
    assert free_slots(cfg, RoomSnapshot(now_ms=T0, active=1000), T0) == 0
    assert free_slots(cfg, RoomSnapshot(now_ms=T0, active=0), T0) == 301
    assert free_slots(cfg, RoomSnapshot(now_ms=T0, admitted_last_minute=700), T0) == 0
    assert free_slots(cfg, RoomSnapshot(now_ms=T0, admitted_last_minute=690), T0) == 10
    # The schedule 40 s ahead of now is past the 30 s burst: nothing until it comes back within it.
    assert free_slots(cfg, RoomSnapshot(now_ms=T0, pace_tat_us=(T0 + 40 * SECOND) * 1000), T0) == 0


def test_a_reused_snapshot_with_folded_deltas_never_over_admits() -> None:
    """Deciding many requests against one snapshot, folding each decision in, admits at most its free slots."""
    cfg = room_config(total_active_users=50, new_users_per_minute=1000)
    snap = RoomSnapshot(now_ms=T0)
    rng = random.Random(3)
    admitted = 0
    for i in range(500):
        d = decide(cfg, snap, None, NO_FACTS, T0 + i, rng)
        snap = snap.with_deltas(d.deltas)
        admitted += d.outcome is Outcome.ORIGIN
    assert admitted == 50 and snap.active == 50 and snap.waiting == 450


def test_fifo_counts_sessions_about_to_end_as_free() -> None:
    """A slot that frees while its owner has not refreshed yet goes to the next in line if another frees soon."""
    room = Room(room_config(total_active_users=2, session_duration=1))
    room.arrive()
    room.advance(5 * SECOND)
    room.arrive()  # the two sessions end at 60 s and 65 s
    timeline = {6: "first arrives", 7: "second arrives", 26: "first", 42: "second", 46: "first", 62: "second"}
    first, second = Visitor(), Visitor()
    for t in range(6, 63):
        room.now = T0 + t * SECOND
        who = timeline.get(t, "")
        if who.startswith("first"):
            room.visit(first)
        elif who.startswith("second"):
            room.visit(second)
    assert room.snapshot().expiring == 1 and not first.admitted
    assert second.admitted  # `first` is ahead and present, but has not come back since the slot freed
    room.now = T0 + 66 * SECOND
    assert room.visit(first).outcome is Outcome.ORIGIN  # and gets the slot freed at 65 s


def test_fifo_lookahead_never_reaches_past_the_ending_sessions() -> None:
    """Without sessions about to end the FIFO window is the free slots exactly."""
    cfg = room_config(total_active_users=10, new_users_per_minute=1000)
    snap = RoomSnapshot(now_ms=T0, active=9)
    assert fifo_window(cfg, snap, T0) == free_slots(cfg, snap, T0) == 1
    assert fifo_window(cfg, RoomSnapshot(now_ms=T0, active=9, expiring=3), T0) == 4
