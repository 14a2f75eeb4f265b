"""Free slots: total_active_users and the paced new_users_per_minute budget together."""

from __future__ import annotations

import random

from antechamber.core.budget import fifo_refresh_s, free_slots, minute_cap, seconds_to_turn
from antechamber.core.counters import RoomSnapshot
from antechamber.core.decide import decide
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
    # The minute cap: 1.02 × 600 in the last 61 whole seconds.
    assert free_slots(cfg, RoomSnapshot(now_ms=T0, admitted_last_minute=612), T0) == 0
    assert free_slots(cfg, RoomSnapshot(now_ms=T0, admitted_last_minute=602), T0) == 10
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


def test_fifo_user_near_its_turn_is_told_to_come_back_sooner_and_gets_in_early() -> None:
    """A FIFO user whose slot frees within 20 s is given a shorter refresh, and refreshing then lets it in."""
    room = Room(room_config(total_active_users=1, session_duration=1))
    room.arrive()  # its session ends at 60 s
    waiting = Visitor()
    room.advance(SECOND)
    assert room.visit(waiting).outcome is Outcome.QUEUE
    told: list[int] = []
    while not waiting.admitted:
        assert waiting.last is not None and waiting.last.info is not None
        told.append(waiting.last.info.refresh_interval_seconds)
        room.advance(told[-1] * SECOND)
        room.visit(waiting)
    assert told[0] == 20 and min(told) < 20
    assert room.now < T0 + 63 * SECOND  # in within about a second or two of the slot freeing at 60 s


def test_random_early_refresh_wins_nothing_even_with_free_slots() -> None:
    """Under random queueing a refresh sooner than 20 s is not a draw: coming back often cannot raise the odds."""
    room = Room(room_config(total_active_users=1, session_duration=1, queueing_method="random"))
    room.arrive()  # its session ends at 60 s
    waiting = Visitor()
    room.advance(SECOND)
    room.visit(waiting)
    room.advance(49 * SECOND)
    assert room.visit(waiting).reason == "queued"  # counted at 50 s, while the room is full
    for _ in range(19):  # 51 s .. 69 s: the slot is free from 60 s on
        room.advance(SECOND)
        assert room.visit(waiting).reason == "early" and not waiting.admitted


def test_seconds_to_turn_counts_the_users_in_front_past_the_free_slots() -> None:
    """Zero while the free slots cover everyone in front; then one outflow interval per user, to the slot before."""
    cfg = room_config(total_active_users=10, new_users_per_minute=1000)
    snap = RoomSnapshot(now_ms=T0, active=8)  # two free slots
    assert seconds_to_turn(cfg, snap, 1, T0, 60.0) == 0.0  # its turn
    assert seconds_to_turn(cfg, snap, 2, T0, 60.0) == 0.0  # next: the slot before its own is free
    assert seconds_to_turn(cfg, snap, 3, T0, 60.0) == 1.0
    assert seconds_to_turn(cfg, snap, 32, T0, 60.0) == 30.0
    assert [fifo_refresh_s(t) for t in (0.0, 0.4, 3.7, 19.9, 20.0, 300.0)] == [1, 1, 3, 19, 20, 20]
