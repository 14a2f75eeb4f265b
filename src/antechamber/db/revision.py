"""The config revision: how readers (gateway nodes) notice that the configuration changed.

Every API write transaction bumps the counter first (see
:func:`antechamber.api.context.write_transaction`), so it counts accepted API
writes: rooms, events, rules and zone settings, deletions included (and
previews, which the gateway ignores; a needless reload is cheap). Readers
compare :func:`current_revision` with the one they loaded and reload on a
difference, which is one tiny query per poll however many rooms there are.

On PostgreSQL the bump also sends ``NOTIFY antechamber_config`` (delivered at
commit, never for a rolled-back write), so a reader that LISTENs hears about a
change at once instead of at its next poll. SQLite has no notifications;
its readers just poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from antechamber.db import tables
from antechamber.db.engine import Database
from antechamber.db.ids import format_timestamp, utc_now

logger = logging.getLogger(__name__)

#: The PostgreSQL notification channel a bump notifies; the payload is the new revision.
CHANNEL = "antechamber_config"


async def bump_revision(connection: AsyncConnection) -> None:
    """Increment the revision inside the caller's transaction (and, on PostgreSQL, notify at commit).

    Doing this first in a write transaction also takes the row's lock, so API
    writes run one at a time and each one's checks see a store nobody else is
    changing (PostgreSQL row lock; SQLite's single writer lock).
    """
    bump = (
        update(tables.config_revision)
        .where(tables.config_revision.c.id == 1)
        .values(revision=tables.config_revision.c.revision + 1, changed_on=format_timestamp(utc_now()))
    )
    if connection.dialect.name != "postgresql":
        await connection.execute(bump)
        return
    revision = await connection.scalar(bump.returning(tables.config_revision.c.revision))
    await connection.execute(select(func.pg_notify(CHANNEL, str(revision))))


async def current_revision(connection: AsyncConnection) -> int:
    """The current revision (0 for a store nobody has changed through the API)."""
    found = await connection.scalar(select(tables.config_revision.c.revision).where(tables.config_revision.c.id == 1))
    return int(found or 0)


class RevisionWatch:
    """One held connection on which a reader polls the revision and, on PostgreSQL, LISTENs for bumps.

    Example::

        watch = RevisionWatch(database, on_notify=wake.set)
        revision = await watch.read()   # opens the connection (and LISTENs) on first use
        ...
        await watch.aclose()

    Holding the connection makes a poll exactly one statement: no pool checkout
    or pre-ping, and (autocommit) no BEGIN/ROLLBACK around it, nor a snapshot
    kept between polls. A read that fails on the held connection closes it and
    tries once more on a new one, LISTEN included, so a lost connection costs no
    failed poll. ``on_notify`` is called in the event loop for every notification;
    notifications only hasten a read, so one lost while reconnecting is caught
    by the next poll. The connection never goes back to the pool: it may be
    broken, or still LISTENing.
    """

    def __init__(self, database: Database, on_notify: Callable[[], None] | None = None) -> None:
        self.database = database
        self.on_notify = on_notify
        #: Whether the held connection LISTENs right now (PostgreSQL with ``on_notify`` only).
        self.listening = False
        self._connection: AsyncConnection | None = None
        self._reading = asyncio.Lock()

    async def read(self) -> int:
        """The current revision, over the held connection (opened now if there is none)."""
        async with self._reading:  # one statement at a time on the connection, and never two opened
            if self._connection is not None:
                with contextlib.suppress(Exception):
                    return await self._read(self._connection)
                # Lost since the last read (a server restart, an idle timeout): once more, on a new one.
            return await self._read(await self._open())

    async def _read(self, connection: AsyncConnection) -> int:
        try:
            return await current_revision(connection)
        except BaseException:
            await self.aclose()
            raise

    async def _open(self) -> AsyncConnection:
        connection = await self.database.engine.connect()
        try:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            if self.on_notify is not None and connection.dialect.name == "postgresql":
                await self._listen(connection)
        except BaseException:
            await _discard(connection)
            self.listening = False
            raise
        self._connection = connection
        return connection

    async def _listen(self, connection: AsyncConnection) -> None:
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection  # an asyncpg.Connection
        try:
            await driver.add_listener(CHANNEL, self._notified)
        except Exception as exc:
            # A pooler in transaction mode, say: polling alone still keeps the promise.
            logger.warning("cannot LISTEN for config changes, polling only (%s)", type(exc).__name__)
        else:
            self.listening = True

    def _notified(self, _connection: object, _pid: int, _channel: str, _payload: str) -> None:
        if self.on_notify is not None:
            self.on_notify()

    async def aclose(self) -> None:
        """Close the held connection (the next :meth:`read` opens a new one)."""
        connection, self._connection = self._connection, None
        self.listening = False
        if connection is not None:
            await _discard(connection)


async def _discard(connection: AsyncConnection) -> None:
    """Close ``connection`` for good rather than return it to the pool."""
    with contextlib.suppress(Exception):
        if not connection.invalidated:
            await connection.invalidate()
    with contextlib.suppress(Exception):
        await connection.close()
