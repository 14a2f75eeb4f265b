"""Following the config store: poll, and swap in a new :class:`GatewayConfig` when anything changed.

DESIGN section 4 promises changes on every node within 2 seconds. Polling the
whole (small) configuration every ``interval`` seconds keeps that promise on
SQLite and PostgreSQL alike, without triggers or notifications, and catches
every kind of change (room, event, rule, zone setting, deletions) the same way:
the store's content is fingerprinted and the config rebuilt only when the
fingerprint moves.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from antechamber.core.cookie import COOKIE_PREFIX
from antechamber.db import accounts, events, rooms, tables
from antechamber.db.engine import Database
from antechamber.gateway.config import EMPTY_CONFIG, GatewayConfig, StoredConfig, build_config

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL = 0.5


async def load_stored(database: Database) -> StoredConfig:
    """Read every room, event, rule and zone setting in one connection."""
    async with database.connect() as connection:
        room_list = await rooms.all_rooms(connection)
        room_ids = [room.id for room in room_list]
        by_room = await events.events_of_rooms(connection, room_ids)
        rule_lists = await _all_rules(connection)
        zones = await accounts.list_zones(connection)
    return StoredConfig(
        rooms=[(room.id, room.zone_id, room.body) for room in room_list],
        events={room_id: [(e.id, e.body) for e in found] for room_id, found in by_room.items()},
        rules=rule_lists,
        crawler_bypass={zone.id: zone.search_engine_crawler_bypass for zone in zones},
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
    ]
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class ConfigFollower:
    """Keeps ``current`` in step with the store; implements :class:`~antechamber.gateway.config.ConfigSource`.

    Example::

        follower = ConfigFollower(database)
        await follower.start()        # first load, then poll in the background
        gateway = create_gateway(follower, ...)
        ...
        await follower.aclose()

    A failed poll keeps the last good configuration and is retried at the next
    interval, so a store outage never takes the gateway down.
    """

    def __init__(
        self,
        database: Database,
        *,
        interval: float = DEFAULT_INTERVAL,
        cookie_prefix: str = COOKIE_PREFIX,
        on_change: Callable[[GatewayConfig], None] | None = None,
    ) -> None:
        self.database = database
        self.interval = interval
        self.cookie_prefix = cookie_prefix
        self.on_change = on_change
        self.current: GatewayConfig = EMPTY_CONFIG
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        # Polls run one at a time: a poll that read the store before a write must not
        # swap its older configuration in after a later poll already saw the write.
        self._refreshing = asyncio.Lock()

    async def refresh(self) -> bool:
        """Poll once; return whether a new configuration was swapped in."""
        async with self._refreshing:
            stored = await load_stored(self.database)
            version = fingerprint(stored)
            if version == self.current.version:
                return False
            self.current = build_config(stored, version=version, cookie_prefix=self.cookie_prefix)
        logger.info("gateway configuration loaded: %d rooms (version %s)", len(self.current.rooms), version[:12])
        if self.on_change is not None:
            self.on_change(self.current)
        return True

    async def start(self) -> None:
        """Load the configuration once (errors propagate: a gateway must not start blind), then follow it."""
        await self.refresh()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="antechamber-config-follower")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.refresh()
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

    async def aclose(self) -> None:
        """Stop polling."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
