"""Queries on a room's ordered bypass rules.

Every rules call returns the whole list and most rewrite its order, so the list
is read and written as a unit: small (a room has a handful of rules) and simple.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from antechamber.db import tables


async def room_rules(connection: AsyncConnection, room_id: str) -> list[dict[str, Any]]:
    """The room's rules in evaluation order; each dict carries its ``id``."""
    rows = await connection.execute(
        select(tables.rules).where(tables.rules.c.room_id == room_id).order_by(tables.rules.c.position)
    )
    return [{**dict(row.body), "id": row.id} for row in rows]


async def replace_rules(connection: AsyncConnection, room_id: str, rules: Sequence[dict[str, Any]]) -> None:
    """Store ``rules`` (each with an ``id``) as the room's whole ordered list."""
    await connection.execute(delete(tables.rules).where(tables.rules.c.room_id == room_id))
    if rules:
        await connection.execute(
            insert(tables.rules),
            [
                {
                    "id": rule["id"],
                    "room_id": room_id,
                    "position": position,
                    "body": {key: value for key, value in rule.items() if key != "id"},
                }
                for position, rule in enumerate(rules)
            ],
        )
