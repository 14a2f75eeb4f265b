"""A stand-in core for testing the event loop on its own: FIFO by arrival number, paced by a per-minute budget.

It ignores ``total_active_users`` on purpose; the end-to-end tests use the real core.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from antechamber.core.types import Outcome, RequestFacts, RoomConfig
from antechamber.sim.binding import CoreBinding


@dataclass(frozen=True, slots=True)
class FakeTicket:
    """The fake cookie: place in line, and whether the visitor is in."""

    seq: int
    admitted: bool = False


@dataclass(frozen=True, slots=True)
class FakeDecision:
    """What the engine reads from a decision."""

    outcome: Outcome
    ticket: FakeTicket | None
    deltas: int
    info: float | None


class FakeState:
    """Arrival numbers and the start time of the room."""

    def __init__(self) -> None:
        self.arrivals = 0
        self.start_ms: int | None = None

    def snapshot(self, room_id: str, now_ms: int) -> tuple[int, int | None]:
        """The count of arrivals so far and the room's start time."""
        return self.arrivals, self.start_ms

    def apply(self, room_id: str, deltas: int, now_ms: int) -> None:
        """Count new arrivals."""
        if self.start_ms is None:
            self.start_ms = now_ms
        self.arrivals += deltas


def fake_decide(
    config: RoomConfig, snapshot: Any, ticket: Any, facts: RequestFacts, now_ms: int, rng: Any
) -> FakeDecision:
    """Admit arrival number ``seq`` once ``seq`` minutes' worth of the budget has been released."""
    arrivals, start_ms = snapshot
    new = ticket is None
    current = FakeTicket(arrivals) if ticket is None else ticket
    if current.admitted:
        return FakeDecision(Outcome.ORIGIN, current, 0, None)
    released = config.new_users_per_minute * (now_ms - (start_ms if start_ms is not None else now_ms)) / 60_000
    if current.seq < released:
        return FakeDecision(Outcome.ORIGIN, replace(current, admitted=True), int(new), None)
    wait = (current.seq - released) / config.new_users_per_minute
    return FakeDecision(Outcome.QUEUE, current, int(new), wait)


def fake_core() -> CoreBinding:
    """A binding over a fresh fake state."""
    state = FakeState()
    return CoreBinding(
        decide=fake_decide,
        snapshot=state.snapshot,
        apply=state.apply,
        memory_bytes=lambda: 64,
        counts=lambda snap: (0, 0),
        wait_estimate=lambda info: (float(-(-info // 1)), info) if isinstance(info, float) else None,
    )
