"""Several gateway nodes in the simulator, each with its own replica, merged through a real Redis.

Each simulated request goes to one node, picked with skewed weights (node ``i``
gets a share proportional to ``1 / (i + 1) ** skew``), and is decided on that
node's :class:`~antechamber.state.redis.RedisState` exactly as a gateway node
decides it: on the node's replica, with the node's share of the free slots, and
a draw from the shared pool (then a second decision) when that share is spent.
Every node syncs every ``sync_ms`` of virtual time, at its own phase. The Redis
scripts take the caller's clock, so the whole deployment runs on the simulator's
virtual clock; the merge is the backend's own code, Lua included.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

from antechamber.core.decide import Decision, decide
from antechamber.core.types import Random, RequestFacts, RoomConfig
from antechamber.sim.binding import CoreBinding, counts, refresh_seconds, wait_estimate
from antechamber.state.redis import RedisState


class Nodes:
    """The nodes, their sync schedule, and which node the request being decided went to."""

    def __init__(self, url: str, count: int, *, sync_ms: int, skew: float, seed: int) -> None:
        self.now_ms = 0
        self.loop = asyncio.new_event_loop()
        self.prefix = f"sim-{uuid.uuid4().hex[:8]}"
        self.config: RoomConfig | None = None
        self.states = [
            RedisState(url, prefix=self.prefix, node_id=f"node{i}", clock=self._clock, timeout=5.0)
            for i in range(count)
        ]
        for state in self.states:
            state.bind(self._config_of)
        self.weights = [1 / (i + 1) ** skew for i in range(count)]
        self.sync_ms = sync_ms
        self.next_sync = [0] * count
        self.rng = random.Random(seed + 2)
        self.current = self.states[0]
        self.draws = 0

    def _clock(self) -> int:
        return self.now_ms

    def _config_of(self, room_id: str, now_ms: int) -> RoomConfig | None:
        return self.config

    def _sync_due(self, room_id: str, now_ms: int) -> None:
        for i, state in enumerate(self.states):
            if self.next_sync[i] == 0:
                # Each node syncs at its own phase, as independent processes do.
                self.next_sync[i] = now_ms + (i * self.sync_ms) // len(self.states)
            while self.next_sync[i] <= now_ms:
                self.now_ms = self.next_sync[i]
                self.loop.run_until_complete(state.sync([room_id]))
                self.next_sync[i] += self.sync_ms
        self.now_ms = now_ms

    def snapshot(self, room_id: str, now_ms: int) -> Any:
        self._sync_due(room_id, now_ms)
        self.current = self.rng.choices(self.states, self.weights)[0]
        return self.current.snapshot(room_id, now_ms)

    def decide(
        self, config: RoomConfig, snapshot: Any, ticket: Any, facts: RequestFacts, now_ms: int, rng: Random
    ) -> Decision:
        self.config = config
        decision = decide(config, snapshot, ticket, facts, now_ms, rng)
        if decision.reason != "draw":
            return decision
        # The gateway's Admission.settle: draw, then decide again (never drawing twice).
        self.draws += 1
        room_id = config.room_id
        self.loop.run_until_complete(self.current.draw(room_id, now_ms))
        again = self.current.snapshot(room_id, now_ms)
        decision = decide(config, again, ticket, facts, now_ms, rng)
        if decision.reason == "draw":
            decision = decide(config, dataclasses.replace(again, pool=False), ticket, facts, now_ms, rng)
        return decision

    def apply(self, room_id: str, deltas: Any, now_ms: int) -> None:
        self.current.apply(room_id, deltas, now_ms)

    def memory_bytes(self) -> int:
        return sum(state.memory_bytes() for state in self.states)

    def close(self) -> None:
        for state in self.states:
            self.loop.run_until_complete(state.aclose())
        self.loop.close()


def nodes_core(nodes: Nodes) -> CoreBinding:
    """A binding that spreads the simulator's requests over ``nodes``."""
    return CoreBinding(
        decide=nodes.decide,
        snapshot=nodes.snapshot,
        apply=nodes.apply,
        memory_bytes=nodes.memory_bytes,
        counts=counts,
        wait_estimate=wait_estimate,
        close=nodes.close,
        refresh_seconds=refresh_seconds,
    )


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    """A throwaway ``redis-server`` on a free loopback port for one run (Debian: redis-server)."""
    import socket

    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("--nodes needs Redis: install redis-server or pass --state redis://HOST:PORT/DB")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="antechamber-sim-redis-")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the private redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(workdir, ignore_errors=True)
