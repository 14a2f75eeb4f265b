"""A room's stored settings, its events, and the effective configuration at an instant.

Field names mirror Cloudflare's API; times are integer milliseconds since the
Unix epoch (the API layer converts the ISO 8601 strings). An event's ``None``
fields inherit the room's *current* value, so later room edits flow into it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from antechamber.core.types import (
    EventWindow,
    QueueingMethod,
    RoomConfig,
    TurnstileAction,
    TurnstileMode,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RoomSettings:
    """The room as stored (the subset of fields the decision needs)."""

    id: str
    total_active_users: int
    new_users_per_minute: int
    session_duration: int = 5
    disable_session_renewal: bool = False
    queueing_method: QueueingMethod = "fifo"
    queue_all: bool = False
    suspended: bool = False
    queueing_status_code: int = 200
    json_response_enabled: bool = False
    custom_page_html: str = ""
    default_template_language: str = "en-US"
    turnstile_mode: TurnstileMode = "invisible"
    turnstile_action: TurnstileAction = "log"
    enabled_origin_commands: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EventSettings:
    """A scheduled event; ``None`` overrides inherit the room's value."""

    id: str
    event_start_time: int
    event_end_time: int
    prequeue_start_time: int | None = None
    shuffle_at_event_start: bool = False
    suspended: bool = False
    name: str = ""
    total_active_users: int | None = None
    new_users_per_minute: int | None = None
    session_duration: int | None = None
    disable_session_renewal: bool | None = None
    queueing_method: QueueingMethod | None = None
    custom_page_html: str | None = None
    turnstile_mode: TurnstileMode | None = None
    turnstile_action: TurnstileAction | None = None

    @property
    def window_start(self) -> int:
        """When the event becomes active: prequeue start, else event start."""
        return self.event_start_time if self.prequeue_start_time is None else self.prequeue_start_time

    def is_active(self, now_ms: int) -> bool:
        """The event is prequeueing or running at ``now_ms`` and not suspended."""
        return not self.suspended and self.window_start <= now_ms < self.event_end_time


def active_event(room: RoomSettings, events: Sequence[EventSettings], now_ms: int) -> EventSettings | None:
    """The event in force at ``now_ms``: never while the room is suspended.

    Events may not overlap (the API refuses it); if stored data breaks that
    rule anyway, the earliest-starting event wins so the choice is stable.
    """
    if room.suspended:
        return None
    best: EventSettings | None = None
    for event in events:
        if event.is_active(now_ms) and (best is None or event.window_start < best.window_start):
            best = event
    return best


def _pick(override: T | None, inherited: T) -> T:
    return inherited if override is None else override


def effective_config(room: RoomSettings, events: Sequence[EventSettings], now_ms: int) -> RoomConfig:
    """The room's settings with the active, non-suspended event's overrides applied.

    Overrides apply during the whole active window, prequeue included, so the
    prequeue shows the event's page; the core itself keeps everyone queued
    until ``event_start_time`` whatever the method.
    """
    event = active_event(room, events, now_ms)
    if event is None:
        return RoomConfig(
            room_id=room.id,
            total_active_users=room.total_active_users,
            new_users_per_minute=room.new_users_per_minute,
            session_duration=room.session_duration,
            disable_session_renewal=room.disable_session_renewal,
            queueing_method=room.queueing_method,
            queue_all=room.queue_all,
            suspended=room.suspended,
            queueing_status_code=room.queueing_status_code,
            json_response_enabled=room.json_response_enabled,
            custom_page_html=room.custom_page_html,
            default_template_language=room.default_template_language,
            turnstile_mode=room.turnstile_mode,
            turnstile_action=room.turnstile_action,
            enabled_origin_commands=room.enabled_origin_commands,
        )
    return RoomConfig(
        room_id=room.id,
        total_active_users=_pick(event.total_active_users, room.total_active_users),
        new_users_per_minute=_pick(event.new_users_per_minute, room.new_users_per_minute),
        session_duration=_pick(event.session_duration, room.session_duration),
        disable_session_renewal=_pick(event.disable_session_renewal, room.disable_session_renewal),
        queueing_method=_pick(event.queueing_method, room.queueing_method),
        queue_all=room.queue_all,
        suspended=False,
        queueing_status_code=room.queueing_status_code,
        json_response_enabled=room.json_response_enabled,
        custom_page_html=_pick(event.custom_page_html, room.custom_page_html),
        default_template_language=room.default_template_language,
        turnstile_mode=_pick(event.turnstile_mode, room.turnstile_mode),
        turnstile_action=_pick(event.turnstile_action, room.turnstile_action),
        enabled_origin_commands=room.enabled_origin_commands,
        event=EventWindow(
            event_id=event.id,
            prequeue_start_ms=event.prequeue_start_time,
            start_ms=event.event_start_time,
            end_ms=event.event_end_time,
            # Shuffling needs a prequeue to shuffle (the API enforces it too).
            shuffle_at_event_start=event.shuffle_at_event_start and event.prequeue_start_time is not None,
        ),
    )


def next_change_ms(room: RoomSettings, events: Sequence[EventSettings], now_ms: int) -> int | None:
    """The next instant after ``now_ms`` at which the effective configuration may change.

    Callers that cache :func:`effective_config` recompute it at this time (or
    when the settings change).
    """
    if room.suspended:
        return None
    times = [
        t
        for event in events
        if not event.suspended
        for t in (event.window_start, event.event_start_time, event.event_end_time)
        if t > now_ms
    ]
    return min(times, default=None)
