"""The config revision: how readers (gateway nodes) notice that the configuration changed.

Every API write transaction bumps the counter first. Readers compare
:func:`current_revision` with the one they loaded and reload on a difference,
which is one tiny query per poll however many rooms there are.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from antechamber.db import tables
from antechamber.db.ids import format_timestamp, utc_now


async def bump_revision(connection: AsyncConnection) -> None:
    """Increment the revision inside the caller's transaction.

    Doing this first in a write transaction also takes the row's lock, so API
    writes run one at a time and each one's checks see a store nobody else is
    changing (PostgreSQL row lock; SQLite's single writer lock).
    """
    await connection.execute(
        update(tables.config_revision)
        .where(tables.config_revision.c.id == 1)
        .values(revision=tables.config_revision.c.revision + 1, changed_on=format_timestamp(utc_now()))
    )


async def current_revision(connection: AsyncConnection) -> int:
    """The current revision (0 for a store nobody has changed through the API)."""
    found = await connection.scalar(select(tables.config_revision.c.revision).where(tables.config_revision.c.id == 1))
    return int(found or 0)
