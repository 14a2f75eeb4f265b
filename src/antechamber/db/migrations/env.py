"""Alembic environment: runs on the connection :mod:`antechamber.db.engine` hands in.

Antechamber migrates itself (on ``serve`` and every CLI command), so the normal
path passes an open synchronous connection through ``config.attributes``. The
fallback builds an engine from ``sqlalchemy.url`` for running ``alembic`` by hand.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from antechamber.db.tables import metadata

config = context.config


def run_on(connection: Connection) -> None:
    # render_as_batch: SQLite has almost no ALTER TABLE, so Alembic copies and moves.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_with_own_engine(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(run_on)
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:
    asyncio.run(run_with_own_engine(config.get_main_option("sqlalchemy.url") or ""))
