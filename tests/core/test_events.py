"""Scheduled events: prequeue, processing with the event's settings, shuffle, revert at the end."""

from __future__ import annotations

import random
from functools import partial

from scipy import stats

from antechamber.core.config import EventSettings, RoomSettings, effective_config
from antechamber.core.types import Outcome
from tests.core.harness import MINUTE, SECOND, T0, Room, Visitor

ROOM = RoomSettings(id="room-e", total_active_users=100_000, new_users_per_minute=600, session_duration=5)
PQ, START, END = T0 + 10 * MINUTE, T0 + 20 * MINUTE, T0 + 60 * MINUTE


def event(**overrides: object) -> EventSettings:
    fields: dict[str, object] = {
        "id": "launch",
        "prequeue_start_time": PQ,
        "event_start_time": START,
        "event_end_time": END,
    }
    fields.update(overrides)
    return EventSettings(**fields)  # type: ignore[arg-type]


def event_room(ev: EventSettings, room: RoomSettings = ROOM, *, seed: int = 0) -> Room:
    return Room(config_at=partial(effective_config, room, [ev]), now_ms=T0, seed=seed)


def test_prequeue_admits_nobody_and_hides_the_wait() -> None:
    """During the prequeue new users are queued whatever the method, with an unknown wait and a countdown."""
    room = event_room(event(queueing_method="passthrough"))
    room.advance(PQ - T0)
    visitors = room.arrive(5)
    room.advance(20 * SECOND)
    assert room.refresh_all(visitors) == []
    info = visitors[0].last.info if visitors[0].last else None
    assert info is not None and not info.wait_time_known and info.is_event_active and info.is_event_prequeueing
    assert info.time_until_event_start == 10 and info.time_until_event_start_formatted == "10 minutes"
    assert info.time_until_event_end == 50
    assert room.snapshot().waiting == 5


def test_sessions_from_before_the_prequeue_keep_access() -> None:
    """Users already active when the prequeue opens stay until their session expires."""
    room = event_room(event())
    room.advance(PQ - T0 - MINUTE)
    (v,) = room.arrive()
    room.advance(2 * MINUTE)
    assert room.visit(v).outcome is Outcome.ORIGIN


def test_at_event_start_the_queue_is_processed_with_the_event_settings() -> None:
    """From event_start_time the prequeued users go in under the event's limits and method."""
    room = event_room(event(total_active_users=200, new_users_per_minute=200, queueing_method="fifo"))
    room.advance(PQ - T0)
    visitors = room.arrive(300)
    room.advance(START - room.now)
    admitted = room.refresh_all(visitors)
    assert len(admitted) == 200 * 30 // 60 + 1  # the event's paced budget, not the room's
    assert visitors[0].last is not None and visitors[0].last.info is None or visitors[0].admitted


def test_event_end_reverts_and_event_sessions_keep_their_expiry() -> None:
    """After the event the room's settings apply again, but event sessions keep the expiry they were issued."""
    room = event_room(event(session_duration=30, queueing_method="fifo", prequeue_start_time=None))
    room.advance(END - T0 - MINUTE)
    (v,) = room.arrive()
    assert v.ticket is not None and v.ticket.expires_ms == room.now + 30 * MINUTE
    room.advance(15 * MINUTE)  # the event ended 14 minutes ago; the room's session is 5 minutes
    assert room.config.event is None and room.config.session_duration == 5
    d = room.visit(v)
    assert d.outcome is Outcome.ORIGIN and v.ticket.expires_ms == END - MINUTE + 30 * MINUTE


def test_event_reject_override_ends_with_the_event() -> None:
    """The maintenance recipe: a reject event over a passthrough room; access returns after the event."""
    room = event_room(
        event(queueing_method="reject", prequeue_start_time=None),
        RoomSettings(id="m", total_active_users=200, new_users_per_minute=200, queueing_method="passthrough"),
    )
    room.advance(START - T0)
    assert room.decide(None).outcome is Outcome.REJECT
    room.advance(END - START)
    assert room.decide(None).outcome is Outcome.ORIGIN


def _prequeue_then_drain(
    n: int, seed: int, *, shuffle: bool = True
) -> tuple[list[Visitor], list[Visitor], list[list[Visitor]]]:
    """n users arrive evenly through the prequeue and keep refreshing; 50 more come at the start.

    From the start everyone still waiting refreshes at the same instant every
    20 s (in random order) until all are in; returns the admissions per cycle.
    """
    room = event_room(event(shuffle_at_event_start=shuffle, queueing_method="fifo"), seed=seed)
    room.advance(PQ - T0)
    per_second = n * SECOND // (START - PQ)
    early: list[Visitor] = []
    while room.now < START:
        phase = room.now // SECOND % 20
        room.refresh_all(early[phase::20])
        early += room.arrive(per_second)
        room.advance(SECOND)
    late = room.arrive(50)
    everyone = early + late
    shuffler = random.Random(seed)
    cycles: list[list[Visitor]] = []
    while sum(map(len, cycles)) < len(everyone):
        pending = [v for v in everyone if not v.admitted]
        shuffler.shuffle(pending)
        cycles.append(room.refresh_all(pending))
        room.advance(20 * SECOND)
    return early, late, cycles


def test_shuffled_prequeue_goes_in_before_later_arrivals() -> None:
    """With shuffle_at_event_start no one arriving after the start goes in while a prequeued user waits."""
    early, late, cycles = _prequeue_then_drain(600, seed=1)
    cycle_of = {id(v): i for i, c in enumerate(cycles) for v in c}
    assert max(cycle_of[id(v)] for v in early) <= min(cycle_of[id(v)] for v in late)
    assert all(v.ticket is not None and v.ticket.arrival_ms < START for v in early)  # nobody lost the place


def test_shuffled_prequeue_order_is_uniform() -> None:
    """Admission order among prequeued users is independent of their arrival order (chi-square, fixed seed)."""
    k = 5
    early, _, cycles = _prequeue_then_drain(2000, seed=7)
    n = len(early)
    arrival_bin = {id(v): i * k // n for i, v in enumerate(early)}
    admitted_early = [v for c in cycles for v in c if id(v) in arrival_bin]
    table = [[0] * k for _ in range(k)]
    for rank, v in enumerate(admitted_early):
        table[arrival_bin[id(v)]][rank * k // n] += 1
    _, p_value, _, _ = stats.chi2_contingency(table)
    assert p_value > 0.01


def test_unshuffled_prequeue_goes_in_by_arrival() -> None:
    """Without the shuffle the same drain is ordered by arrival: the chi-square table is far from uniform."""
    k = 5
    early, _, cycles = _prequeue_then_drain(2000, seed=7, shuffle=False)
    n = len(early)
    arrival_bin = {id(v): i * k // n for i, v in enumerate(early)}
    admitted_early = [v for c in cycles for v in c if id(v) in arrival_bin]
    table = [[0] * k for _ in range(k)]
    for rank, v in enumerate(admitted_early):
        table[arrival_bin[id(v)]][rank * k // n] += 1
    _, p_value, _, _ = stats.chi2_contingency(table)
    assert p_value < 1e-6


def test_fifo_cycles_are_ordered_by_arrival_second() -> None:
    """When everyone refreshes at once, each cycle admits the earliest arrivals: FIFO to the second."""
    room = event_room(event(queueing_method="fifo"))
    room.advance(PQ - T0)
    visitors: list[Visitor] = []
    while room.now < START:
        room.refresh_all(visitors[room.now // SECOND % 20 :: 20])
        visitors += room.arrive(2 if room.now // SECOND % 3 else 0)
        room.advance(SECOND)
    room.advance(20 * SECOND)  # everyone is due: the cycles start together
    shuffler = random.Random(5)
    cycles: list[list[int]] = []
    while sum(map(len, cycles)) < len(visitors):
        pending = [v for v in visitors if not v.admitted]
        shuffler.shuffle(pending)
        cycles.append([v.ticket.arrival_ms // SECOND for v in room.refresh_all(pending) if v.ticket])
        room.advance(20 * SECOND)
    assert len(cycles) > 2
    for before, after in zip(cycles, cycles[1:], strict=False):
        if before and after:
            assert max(before) <= min(after)
