"""Following the config store: swap in a new :class:`GatewayConfig` when anything changed.

DESIGN section 4 promises changes on every node within 2 seconds, and the
store's load must not grow with the traffic. So a node never reads the store
per request; in the background it reads one small value, the config revision
(:mod:`antechamber.db.revision`), every ``interval`` seconds, and loads the
whole configuration only when the revision moved. Every API write (room, event,
rule, zone setting, deletions) bumps the revision in its own transaction.

On PostgreSQL the follower also LISTENs on the connection it polls with, and
each bump NOTIFYs at commit, so a change usually arrives within milliseconds;
the poll is the fallback whenever that connection is being re-established
(and all there is on SQLite). As a safety net for writes made outside the API,
the whole configuration is reloaded every ``reload_every`` seconds anyway. A
reload is fingerprinted and the config rebuilt only when the fingerprint moves,
so an unchanged reload keeps the gateway's cached entries.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from antechamber.background import cancel_and_wait
from antechamber.core.cookie import COOKIE_PREFIX
from antechamber.db import accounts, events, lists, rooms, tables
from antechamber.db.engine import Database
from antechamber.db.revision import RevisionWatch, current_revision
from antechamber.gateway.config import EMPTY_CONFIG, GatewayConfig, StoredConfig, build_config

logger = logging.getLogger(__name__)

#: Seconds between revision polls; leaves most of the 2 s promise for loading the store.
DEFAULT_INTERVAL = 0.5
#: Seconds between full reloads whatever the revision says (writes made outside the API).
DEFAULT_RELOAD_EVERY = 60.0
#: Seconds a poll (or reload) may take before it counts as failed and its connection is dropped.
DEFAULT_TIMEOUT = 10.0


async def load_snapshot(database: Database) -> tuple[int, StoredConfig]:
    """The config revision, then every room, event, rule and zone setting, in one connection.

    The revision is read first: a write landing in between leaves the revision
    behind the data, so the next poll reloads once more instead of missing it.
    """
    async with database.connect() as connection:
        revision = await current_revision(connection)
        stored = await _read_stored(connection)
    return revision, stored


async def load_stored(database: Database) -> StoredConfig:
    """Read every room, event, rule and zone setting in one connection."""
    async with database.connect() as connection:
        return await _read_stored(connection)


async def _read_stored(connection: AsyncConnection) -> StoredConfig:
    room_list = await rooms.all_rooms(connection)
    room_ids = [room.id for room in room_list]
    by_room = await events.events_of_rooms(connection, room_ids)
    rule_lists = await _all_rules(connection)
    zones = await accounts.list_zones(connection)
    by_account = await lists.all_list_items(connection)
    return StoredConfig(
        rooms=[(room.id, room.zone_id, room.body) for room in room_list],
        events={room_id: [(e.id, e.body) for e in found] for room_id, found in by_room.items()},
        rules=rule_lists,
        crawler_bypass={zone.id: zone.search_engine_crawler_bypass for zone in zones},
        lists={zone.id: by_account[zone.account_id] for zone in zones if zone.account_id in by_account},
    )


async def _all_rules(connection: AsyncConnection) -> dict[str, list[dict[str, Any]]]:
    """Every room's rules in evaluation order, in one query (``rules.room_rules`` is per room)."""
    rows = await connection.execute(select(tables.rules).order_by(tables.rules.c.room_id, tables.rules.c.position))
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row.room_id, []).append({**dict(row.body), "id": row.id})
    return found


def fingerprint(stored: StoredConfig) -> str:
    """A digest of the stored data; equal digests mean nothing the gateway uses changed."""
    data: Any = [
        [list(r) for r in stored.rooms],
        {k: [list(e) for e in v] for k, v in stored.events.items()},
        {k: list(v) for k, v in stored.rules.items()},
        dict(stored.crawler_bypass),
        {
            zone: {name: [kind, list(items)] for name, (kind, items) in named.items()}
            for zone, named in stored.lists.items()
        },
    ]
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class ConfigFollower:
    """Keeps ``current`` in step with the store; implements :class:`~antechamber.gateway.config.ConfigSource`.

    Example::

        follower = ConfigFollower(database)
        await follower.start()        # first load, then follow in the background
        gateway = create_gateway(follower, ...)
        ...
        await follower.aclose()

    :meth:`refresh` reloads everything at once (for callers that just wrote to
    the store themselves); :meth:`poll` is the background step, one revision
    read when nothing changed. The follower holds one connection to the store
    for its polls (and LISTEN, on PostgreSQL unless ``listen=False``). A failed
    poll keeps the last good configuration and is retried at the next interval
    on a new connection, so a store outage never takes the gateway down.
    """

    def __init__(
        self,
        database: Database,
        *,
        interval: float = DEFAULT_INTERVAL,
        reload_every: float = DEFAULT_RELOAD_EVERY,
        timeout: float = DEFAULT_TIMEOUT,
        listen: bool = True,
        cookie_prefix: str = COOKIE_PREFIX,
        on_change: Callable[[GatewayConfig], None] | None = None,
        geo: bool = False,
    ) -> None:
        self.database = database
        #: This node has a geo database: rules on geo fields run (else they are left out).
        self.geo = geo
        self.interval = interval
        self.reload_every = reload_every
        self.timeout = timeout
        self.cookie_prefix = cookie_prefix
        self.on_change = on_change
        self.current: GatewayConfig = EMPTY_CONFIG
        #: The revision the current configuration was loaded at (None before the first load).
        self.revision: int | None = None
        self._loaded_at = -float("inf")
        self._wake = asyncio.Event()
        self._watch = RevisionWatch(database, on_notify=self._wake.set if listen else None)
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        # Reloads run one at a time: a reload that read the store before a write must not
        # swap its older configuration in after a later reload already saw the write.
        self._refreshing = asyncio.Lock()

    @property
    def healthy(self) -> bool:
        """False while the store cannot be read (the last configuration stays in force)."""
        return not self._failing

    @property
    def listening(self) -> bool:
        """Whether change notifications arrive right now (PostgreSQL LISTEN); else polling alone."""
        return self._watch.listening

    async def refresh(self) -> bool:
        """Reload the whole configuration now; return whether a new one was swapped in."""
        async with self._refreshing:
            revision, stored = await load_snapshot(self.database)
            version = fingerprint(stored)
            changed = version != self.current.version
            if changed:
                self.current = build_config(stored, version=version, cookie_prefix=self.cookie_prefix, geo=self.geo)
            self.revision = revision
            self._loaded_at = time.monotonic()
            if not changed:
                return False
        logger.info("gateway configuration loaded: %d rooms (version %s)", len(self.current.rooms), version[:12])
        if self.on_change is not None:
            self.on_change(self.current)
        return True

    async def poll(self) -> bool:
        """Read the revision; reload only when it moved or a safety-net reload is due.

        Returns whether a new configuration was swapped in.
        """
        revision = await self._watch.read()
        if revision == self.revision and time.monotonic() < self._loaded_at + self.reload_every:
            return False
        return await self.refresh()

    async def start(self) -> None:
        """Load the configuration once (errors propagate: a gateway must not start blind), then follow it."""
        await self.refresh()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="antechamber-config-follower")

    async def _run(self) -> None:
        while True:
            # Poll first: that opens the held connection, so LISTEN starts right after start().
            try:
                async with asyncio.timeout(self.timeout):
                    await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # The exception text may carry the store's URL; log the type only.
                if not self._failing:
                    logger.warning("config store unreachable, keeping the last configuration (%s)", type(exc).__name__)
                self._failing = True
            else:
                if self._failing:
                    logger.info("config store reachable again")
                self._failing = False
            # Until the next interval, or a notification; one arriving during the
            # poll above wakes this at once, and the poll after it sees its write.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()

    async def aclose(self) -> None:
        """Stop following and close the held connection."""
        task, self._task = self._task, None
        await cancel_and_wait(task)
        await self._watch.aclose()
