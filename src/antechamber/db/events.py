"""Queries on a room's scheduled events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from antechamber.db import tables


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event row: ``body`` holds the Cloudflare fields the operator controls."""

    id: str
    room_id: str
    body: dict[str, Any]
    created_on: str
    modified_on: str


def _event_from_row(row: Any) -> StoredEvent:
    return StoredEvent(
        id=row.id, room_id=row.room_id, body=dict(row.body), created_on=row.created_on, modified_on=row.modified_on
    )


async def room_events(connection: AsyncConnection, room_id: str) -> list[StoredEvent]:
    """Every event of the room, oldest first (a room has at most a handful)."""
    rows = await connection.execute(
        select(tables.events)
        .where(tables.events.c.room_id == room_id)
        .order_by(tables.events.c.created_on, tables.events.c.id)
    )
    return [_event_from_row(row) for row in rows]


async def events_of_rooms(connection: AsyncConnection, room_ids: list[str]) -> dict[str, list[StoredEvent]]:
    """The events of several rooms at once, keyed by room id."""
    found: dict[str, list[StoredEvent]] = {room_id: [] for room_id in room_ids}
    if not room_ids:
        return found
    rows = await connection.execute(
        select(tables.events)
        .where(tables.events.c.room_id.in_(room_ids))
        .order_by(tables.events.c.created_on, tables.events.c.id)
    )
    for row in rows:
        found[row.room_id].append(_event_from_row(row))
    return found


async def count_events(connection: AsyncConnection, room_id: str) -> int:
    """How many events the room has."""
    total = await connection.scalar(
        select(func.count()).select_from(tables.events).where(tables.events.c.room_id == room_id)
    )
    return int(total or 0)


async def insert_event(connection: AsyncConnection, event: StoredEvent) -> None:
    """Store a new event."""
    await connection.execute(
        insert(tables.events).values(
            id=event.id,
            room_id=event.room_id,
            name=event.body["name"],
            body=event.body,
            created_on=event.created_on,
            modified_on=event.modified_on,
        )
    )


async def replace_event(connection: AsyncConnection, event: StoredEvent) -> None:
    """Overwrite an event's body."""
    await connection.execute(
        update(tables.events)
        .where(tables.events.c.id == event.id)
        .values(name=event.body["name"], body=event.body, modified_on=event.modified_on)
    )


async def delete_event(connection: AsyncConnection, event_id: str) -> None:
    """Remove an event."""
    await connection.execute(delete(tables.events).where(tables.events.c.id == event_id))
