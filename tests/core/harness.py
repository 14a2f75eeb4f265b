"""A room driven through the real core and the in-process state, with a hand-moved clock."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace

from antechamber.core.counters import RoomSnapshot
from antechamber.core.decide import Decision, decide
from antechamber.core.ticket import Ticket
from antechamber.core.types import Outcome, RequestFacts, RoomConfig
from antechamber.state.memory import MemoryState

T0 = 1_800_000_000_000  # a whole minute, far from the epoch
SECOND = 1000
MINUTE = 60 * SECOND
NO_FACTS = RequestFacts()


def room_config(**overrides: object) -> RoomConfig:
    """A fifo room of 200/200 users, 5-minute sessions, with ``overrides``."""
    base = RoomConfig(room_id="room-a", total_active_users=200, new_users_per_minute=200, session_duration=5)
    return replace(base, **overrides)  # type: ignore[arg-type]


@dataclass
class Visitor:
    """A browser: keeps the last cookie it was given."""

    ticket: Ticket | None = None
    last: Decision | None = None

    @property
    def admitted(self) -> bool:
        return self.ticket is not None and self.ticket.admitted


class Room:
    """One room's state, config and clock; every request is decided and applied."""

    def __init__(
        self,
        config: RoomConfig | None = None,
        *,
        now_ms: int = T0,
        seed: int = 0,
        config_at: Callable[[int], RoomConfig] | None = None,
    ) -> None:
        self._config = config or room_config()
        self.config_at = config_at  # recompute the effective config at every request (events)
        self.state = MemoryState()
        self.now = now_ms
        self.rng = random.Random(seed)

    @property
    def config(self) -> RoomConfig:
        return self.config_at(self.now) if self.config_at is not None else self._config

    @config.setter
    def config(self, value: RoomConfig) -> None:
        self._config = value

    def snapshot(self) -> RoomSnapshot:
        return self.state.snapshot(self.config.room_id, self.now)

    def decide(self, ticket: Ticket | None, facts: RequestFacts = NO_FACTS) -> Decision:
        config = self.config
        decision = decide(config, self.state.snapshot(config.room_id, self.now), ticket, facts, self.now, self.rng)
        self.state.apply(config.room_id, decision.deltas, self.now)
        return decision

    def visit(self, visitor: Visitor, facts: RequestFacts = NO_FACTS) -> Decision:
        decision = self.decide(visitor.ticket, facts)
        if decision.ticket is not None:
            visitor.ticket = decision.ticket
        visitor.last = decision
        return decision

    def arrive(self, n: int = 1) -> list[Visitor]:
        visitors = [Visitor() for _ in range(n)]
        for v in visitors:
            self.visit(v)
        return visitors

    def advance(self, ms: int) -> None:
        self.now += ms

    def refresh_all(self, visitors: list[Visitor]) -> list[Visitor]:
        """Every still-queued visitor refreshes once (in list order); returns those admitted."""
        admitted = []
        for v in visitors:
            if v.admitted:
                continue
            if self.visit(v).outcome is Outcome.ORIGIN:
                admitted.append(v)
        return admitted
