"""Rules an event must satisfy beyond its fields' own types and ranges."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from antechamber.api.errors import conflict
from antechamber.api.schedule import EventWindow
from antechamber.db import events

MAX_EVENTS_PER_ROOM = 5
MIN_EVENT_LENGTH = timedelta(minutes=1)
MIN_PREQUEUE_LENGTH = timedelta(minutes=5)


def check_event(body: dict[str, Any], event_id: str) -> EventWindow:
    """Check the time and pairing rules of a validated event body; returns its window."""
    window = EventWindow.of(event_id, body)
    if window.end - window.start < MIN_EVENT_LENGTH:
        raise conflict("event_start_time must be at least 1 minute before event_end_time")
    if body["prequeue_start_time"] is not None and window.start - window.opens < MIN_PREQUEUE_LENGTH:
        raise conflict("prequeue_start_time must be at least 5 minutes before event_start_time")
    if body["shuffle_at_event_start"] and body["prequeue_start_time"] is None:
        raise conflict("shuffle_at_event_start requires prequeue_start_time")
    if (body["total_active_users"] is None) != (body["new_users_per_minute"] is None):
        raise conflict("total_active_users and new_users_per_minute must be set together (both or neither)")
    if body["total_active_users"] is not None and body["new_users_per_minute"] > body["total_active_users"]:
        raise conflict("new_users_per_minute must not be greater than total_active_users")
    return window


async def check_event_in_store(
    connection: AsyncConnection, room_id: str, body: dict[str, Any], window: EventWindow, creating: bool
) -> None:
    """Check the rules that involve the room's other events: count, unique name, no overlap."""
    others = [event for event in await events.room_events(connection, room_id) if event.id != window.event_id]
    if creating and len(others) >= MAX_EVENTS_PER_ROOM:
        raise conflict(f"a waiting room may have at most {MAX_EVENTS_PER_ROOM} events")
    for other in others:
        if other.body["name"] == body["name"]:
            raise conflict(f"an event named {body['name']!r} already exists in this waiting room")
        if window.overlaps(EventWindow.of(other.id, other.body)):
            raise conflict(
                f"the event overlaps event {other.id} ({other.body['name']}), prequeue included; "
                "use another waiting room for overlapping events"
            )
