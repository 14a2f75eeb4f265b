"""Which lists the bypass rules of an account's rooms refer to (``ip.src in $office``).

The Lists API reports the count as a list's ``num_referencing_filters`` and, as
Cloudflare does, refuses to delete a list while it is above zero. Finding the
references takes the rule-expression parser (a ``$name`` inside a string literal
is no reference), so each rule of the account's rooms is parsed here.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from antechamber.db import tables
from antechamber.rules.validate import list_references


async def referencing_rule_counts(connection: AsyncConnection, account_id: str) -> dict[str, int]:
    """List name -> how many bypass rules in the account's rooms refer to it (names with none may be absent)."""
    rows = await connection.execute(
        select(tables.rules.c.body)
        .join(tables.rooms, tables.rooms.c.id == tables.rules.c.room_id)
        .join(tables.zones, tables.zones.c.id == tables.rooms.c.zone_id)
        .where(tables.zones.c.account_id == account_id)
    )
    counts: dict[str, int] = {}
    for (body,) in rows:
        for name in list_references(str(body.get("expression", ""))):
            counts[name] = counts.get(name, 0) + 1
    return counts
