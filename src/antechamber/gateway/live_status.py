"""The management API's live numbers, read from the gateway's room state.

Implements :class:`antechamber.api.status.StatusSource` so that
``GET .../waiting_rooms/{id}/status`` reports what the gateway enforces:
queued users, active sessions, and the estimated wait of the back of the queue.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from antechamber.api.models.zone import StateStoreStatus
from antechamber.api.status import LiveNumbers
from antechamber.core.config import effective_config
from antechamber.core.estimate import (
    fifo_wait_ms,
    first_exit_ms,
    outflow_per_minute,
    random_wait_percentiles_ms,
    to_minutes,
)
from antechamber.gateway.admission import Clock, wall_clock_ms
from antechamber.gateway.config import ConfigSource
from antechamber.state.base import RoomState


class StateStatusSource:
    """Live numbers for the status endpoint, from ``state`` and the configuration in force."""

    __slots__ = ("clock", "source", "state")

    def __init__(self, state: RoomState, source: ConfigSource, *, clock: Clock = wall_clock_ms) -> None:
        self.state = state
        self.source = source
        self.clock = clock

    async def live_numbers(self, room_id: str) -> LiveNumbers:
        """Queued users, active users and the longest estimated wait in whole minutes.

        A room the gateway has not loaded yet (created a moment ago) reports
        its counters with no wait estimate.
        """
        now = self.clock()
        snapshot = await self.state.read(room_id, now)
        store = self.store()
        entry = self.source.current.rooms.get(room_id)
        if entry is None or snapshot.waiting <= 0:
            return LiveNumbers(max(0, snapshot.waiting), max(0, snapshot.active), 0, store)
        config = effective_config(entry.room, entry.events, now)
        # What the queue page would tell a user at the back, the wait for the first exits included.
        rate = outflow_per_minute(config, snapshot)
        first_exit = first_exit_ms(config, snapshot)
        if config.queueing_method == "random":
            # The longest wait of a lottery is unbounded; report its 75th percentile like the page.
            wait_ms = random_wait_percentiles_ms(snapshot.waiting, rate, first_exit)[2]
        else:
            wait_ms = fifo_wait_ms(snapshot.waiting, rate, first_exit)
        return LiveNumbers(snapshot.waiting, max(0, snapshot.active), to_minutes(wait_ms), store)

    def store(self) -> StateStoreStatus:
        """The state backend's health as the status API shows it."""
        health = self.state.health()
        since = None
        if health.failing_since_ms:
            since = datetime.fromtimestamp(health.failing_since_ms / 1000, UTC)
        backend: Literal["memory", "redis"] = "redis" if health.backend == "redis" else "memory"
        return StateStoreStatus(
            backend=backend, healthy=health.healthy, failing_since=since, policy=health.policy, open=health.open
        )
