"""One harness over every state backend, so one suite pins the contract for each (after uvicorn's fixtures).

A test applies deltas, calls :meth:`Backend.settle` where the nodes would have synced
(a no-op for the in-process backend), and reads snapshots. Time is injected throughout:
the Redis scripts take the caller's clock too, so tests can jump hours ahead.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from antechamber.core.types import RoomConfig
from antechamber.state.base import RoomState
from antechamber.state.memory import MemoryState
from antechamber.state.redis import RedisState

BACKENDS = ["memory", "redis"]


class Clock:
    """A settable clock in epoch ms."""

    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


class Backend:
    """A backend under test: one or several nodes over the same store."""

    def __init__(self, kind: str, redis_url: str | None, clock: Clock) -> None:
        self.kind = kind
        self.clock = clock
        self.redis_url = redis_url
        self.prefix = f"test-{uuid.uuid4().hex[:10]}"
        self.nodes: list[RoomState] = []
        self.config_of: Callable[[str, int], RoomConfig | None] = lambda room_id, now_ms: None

    def node(self) -> RoomState:
        """A new node (a second node of the in-process backend is the same process's state)."""
        if self.kind == "memory":
            if not self.nodes:
                self.nodes.append(MemoryState())
            return self.nodes[0]
        assert self.redis_url is not None
        state = RedisState(self.redis_url, prefix=self.prefix, clock=self.clock, timeout=2.0)
        state.bind(lambda room_id, now_ms: self.config_of(room_id, now_ms))
        self.nodes.append(state)
        return state

    async def settle(self, *rooms: str) -> None:
        """Every node merges its deltas for ``rooms`` (default ``r``) and reads back the totals.

        Twice, so each node also sees what the nodes after it merged.
        """
        for _ in range(2):
            for state in self.nodes:
                if isinstance(state, RedisState):
                    await state.sync(list(rooms or ("r",)))

    async def aclose(self) -> None:
        for state in self.nodes:
            await state.aclose()
