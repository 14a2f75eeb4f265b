"""Queries on rooms and the routes they cover."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from antechamber.db import tables


@dataclass(frozen=True, slots=True)
class StoredRoom:
    """A room row: ``body`` holds the Cloudflare fields the operator controls."""

    id: str
    zone_id: str
    body: dict[str, Any]
    created_on: str
    modified_on: str


Route = tuple[str, str]  # (lower-cased host, path)


def _room_from_row(row: Any) -> StoredRoom:
    return StoredRoom(
        id=row.id, zone_id=row.zone_id, body=dict(row.body), created_on=row.created_on, modified_on=row.modified_on
    )


async def get_room(
    connection: AsyncConnection, zone_id: str, room_id: str, *, for_update: bool = False
) -> StoredRoom | None:
    """The room with this id in this zone, or ``None``.

    ``for_update`` locks the row until the transaction ends (PostgreSQL; SQLite
    locks the whole database on write anyway), so that changes to a room's events
    or rules are checked against a list nobody else is changing.
    """
    query = select(tables.rooms).where(tables.rooms.c.id == room_id, tables.rooms.c.zone_id == zone_id)
    if for_update:
        query = query.with_for_update()
    row = (await connection.execute(query)).first()
    return None if row is None else _room_from_row(row)


async def list_rooms(
    connection: AsyncConnection, zone_ids: Sequence[str], offset: int, limit: int
) -> tuple[list[StoredRoom], int]:
    """One page of the rooms in these zones, oldest first, and the total count."""
    where = tables.rooms.c.zone_id.in_(list(zone_ids))
    total = await connection.scalar(select(func.count()).select_from(tables.rooms).where(where))
    rows = await connection.execute(
        select(tables.rooms)
        .where(where)
        .order_by(tables.rooms.c.created_on, tables.rooms.c.id)
        .offset(offset)
        .limit(limit)
    )
    return [_room_from_row(row) for row in rows], int(total or 0)


async def all_rooms(connection: AsyncConnection) -> list[StoredRoom]:
    """Every room in the store (the gateway's view)."""
    rows = await connection.execute(select(tables.rooms).order_by(tables.rooms.c.created_on, tables.rooms.c.id))
    return [_room_from_row(row) for row in rows]


async def name_taken(connection: AsyncConnection, zone_id: str, name: str, except_room: str | None) -> bool:
    """Whether another room in the zone already has this name."""
    query = select(tables.rooms.c.id).where(tables.rooms.c.zone_id == zone_id, tables.rooms.c.name == name)
    if except_room is not None:
        query = query.where(tables.rooms.c.id != except_room)
    return (await connection.scalar(query)) is not None


async def routes_taken(
    connection: AsyncConnection, routes: Iterable[Route], except_room: str | None
) -> list[tuple[Route, str]]:
    """Which of these routes another room already covers, with that room's id."""
    wanted = list(routes)
    if not wanted:
        return []
    query = select(tables.room_routes).where(tuple_(tables.room_routes.c.host, tables.room_routes.c.path).in_(wanted))
    if except_room is not None:
        query = query.where(tables.room_routes.c.room_id != except_room)
    rows = await connection.execute(query)
    return [((row.host, row.path), row.room_id) for row in rows]


async def _write_routes(connection: AsyncConnection, room_id: str, routes: Sequence[Route]) -> None:
    await connection.execute(delete(tables.room_routes).where(tables.room_routes.c.room_id == room_id))
    await connection.execute(
        insert(tables.room_routes), [{"room_id": room_id, "host": host, "path": path} for host, path in routes]
    )


async def insert_room(connection: AsyncConnection, room: StoredRoom, routes: Sequence[Route]) -> None:
    """Store a new room and its routes."""
    await connection.execute(
        insert(tables.rooms).values(
            id=room.id,
            zone_id=room.zone_id,
            name=room.body["name"],
            body=room.body,
            created_on=room.created_on,
            modified_on=room.modified_on,
        )
    )
    await _write_routes(connection, room.id, routes)


async def replace_room(connection: AsyncConnection, room: StoredRoom, routes: Sequence[Route]) -> None:
    """Overwrite a room's body and routes."""
    await connection.execute(
        update(tables.rooms)
        .where(tables.rooms.c.id == room.id)
        .values(name=room.body["name"], body=room.body, modified_on=room.modified_on)
    )
    await _write_routes(connection, room.id, routes)


async def delete_room(connection: AsyncConnection, room_id: str) -> None:
    """Remove a room; its routes, events and rules go with it."""
    # Explicit deletes rather than relying on ON DELETE CASCADE being enabled.
    for table in (tables.room_routes, tables.events, tables.rules):
        await connection.execute(delete(table).where(table.c.room_id == room_id))
    await connection.execute(delete(tables.rooms).where(tables.rooms.c.id == room_id))
