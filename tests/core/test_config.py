"""Effective configuration: the room with the active event's overrides."""

from __future__ import annotations

from dataclasses import replace

from antechamber.core.config import EventSettings, RoomSettings, active_event, effective_config, next_change_ms
from tests.core.harness import MINUTE, T0

ROOM = RoomSettings(id="r1", total_active_users=1000, new_users_per_minute=500, session_duration=10)
EVENT = EventSettings(
    id="e1",
    prequeue_start_time=T0 + 10 * MINUTE,
    event_start_time=T0 + 20 * MINUTE,
    event_end_time=T0 + 80 * MINUTE,
    shuffle_at_event_start=True,
    total_active_users=300,
    new_users_per_minute=300,
    queueing_method="random",
    session_duration=None,
)


def test_no_event_gives_the_room_settings() -> None:
    """Without an active event the config mirrors the room and carries no event."""
    cfg = effective_config(ROOM, [EVENT], T0)
    assert (cfg.room_id, cfg.total_active_users, cfg.new_users_per_minute, cfg.session_duration) == (
        "r1",
        1000,
        500,
        10,
    )
    assert cfg.queueing_method == "fifo" and cfg.event is None


def test_event_overrides_apply_and_null_inherits() -> None:
    """During the event its set fields win and its null fields inherit the room's current value."""
    cfg = effective_config(ROOM, [EVENT], T0 + 30 * MINUTE)
    assert (cfg.total_active_users, cfg.new_users_per_minute, cfg.queueing_method) == (300, 300, "random")
    assert cfg.session_duration == 10
    assert cfg.event is not None and cfg.event.event_id == "e1" and cfg.event.shuffle_at_event_start


def test_event_is_active_from_prequeue_to_end() -> None:
    """The event window runs from prequeue start (inclusive) to event end (exclusive)."""
    assert active_event(ROOM, [EVENT], T0 + 10 * MINUTE - 1) is None
    assert active_event(ROOM, [EVENT], T0 + 10 * MINUTE) is EVENT
    assert active_event(ROOM, [EVENT], T0 + 80 * MINUTE - 1) is EVENT
    assert active_event(ROOM, [EVENT], T0 + 80 * MINUTE) is None


def test_suspended_event_and_suspended_room_activate_nothing() -> None:
    """A suspended event is ignored, and no event activates while the room is suspended."""
    assert effective_config(ROOM, [replace(EVENT, suspended=True)], T0 + 30 * MINUTE).event is None
    cfg = effective_config(replace(ROOM, suspended=True), [EVENT], T0 + 30 * MINUTE)
    assert cfg.suspended and cfg.event is None


def test_event_without_prequeue_starts_at_event_start() -> None:
    """Without a prequeue the window opens at the event start, and shuffle is off."""
    ev = replace(EVENT, prequeue_start_time=None)
    assert effective_config(ROOM, [ev], T0 + 15 * MINUTE).event is None
    cfg = effective_config(ROOM, [ev], T0 + 20 * MINUTE)
    assert cfg.event is not None and not cfg.event.shuffle_at_event_start


def test_room_queue_all_overrides_events() -> None:
    """queue_all is a room switch that stays on during events."""
    assert effective_config(replace(ROOM, queue_all=True), [EVENT], T0 + 30 * MINUTE).queue_all


def test_next_change_lists_the_window_boundaries() -> None:
    """Cached configs are recomputed at prequeue start, event start and event end."""
    assert next_change_ms(ROOM, [EVENT], T0) == T0 + 10 * MINUTE
    assert next_change_ms(ROOM, [EVENT], T0 + 10 * MINUTE) == T0 + 20 * MINUTE
    assert next_change_ms(ROOM, [EVENT], T0 + 20 * MINUTE) == T0 + 80 * MINUTE
    assert next_change_ms(ROOM, [EVENT], T0 + 80 * MINUTE) is None


def test_event_overrides_the_challenge() -> None:
    """An event's turnstile_mode and turnstile_action win while it runs; outside it the room's apply."""
    room = replace(ROOM, turnstile_mode="invisible", turnstile_action="log")
    event = replace(EVENT, turnstile_mode="visible_managed", turnstile_action="infinite_queue")
    during = effective_config(room, [event], T0 + 30 * MINUTE)
    assert (during.turnstile_mode, during.turnstile_action) == ("visible_managed", "infinite_queue")
    before = effective_config(room, [event], T0)
    assert (before.turnstile_mode, before.turnstile_action) == ("invisible", "log")
    inherit = effective_config(room, [replace(EVENT, turnstile_mode=None, turnstile_action=None)], T0 + 30 * MINUTE)
    assert (inherit.turnstile_mode, inherit.turnstile_action) == ("invisible", "log")
