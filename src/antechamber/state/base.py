"""The port every state backend implements: in-process (:mod:`.memory`) and Redis (:mod:`.redis`).

Each backend documents its own behaviour; the contract is written once here, and
one test suite (``tests/state``) runs against every backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from antechamber.core.counters import Deltas, RoomSnapshot

#: What a node does while the shared store does not answer: ``hold`` keeps the
#: limits on its last known totals with a conservative share of the free slots;
#: ``open`` lets visitors through for at most the configured time, then holds.
FailurePolicy = Literal["hold", "open"]


@dataclass(frozen=True, slots=True)
class StateHealth:
    """How a backend is doing, for the status API, the logs and the metrics."""

    backend: str  # "memory" or "redis"
    healthy: bool
    #: When the store stopped answering (epoch ms; 0 while healthy).
    failing_since_ms: int = 0
    #: When this node last merged its counters with the others' (epoch ms; 0: never, or one node).
    synced_ms: int = 0
    policy: FailurePolicy = "hold"
    #: The ``open`` policy is letting visitors through right now.
    open: bool = False


class RoomState(Protocol):
    """Aggregate counters per room.

    ``snapshot`` reads a room's counters as of ``now_ms`` (expiring what ran
    out); ``apply`` adds a decision's deltas. Both are synchronous and do no
    network I/O: they are on the request path. A backend may merge deltas and
    refresh snapshots per interval instead of per request; callers that reuse
    a snapshot fold their own decisions into it with
    :meth:`RoomSnapshot.with_deltas` so it never admits more than its free slots.

    A backend shared by several nodes hands each node a share of the free slots
    (``RoomSnapshot.allowance``); when a decision says ``draw``, the caller awaits
    :meth:`draw` (one atomic command on the shared store) and decides again.
    """

    @property
    def open(self) -> bool:
        """The store is unreachable and the ``open`` policy lets everyone through for now."""
        ...

    def snapshot(self, room_id: str, now_ms: int, /) -> RoomSnapshot: ...

    def peek(self, room_id: str, now_ms: int, /) -> RoomSnapshot:
        """What :meth:`snapshot` would say, without counting a request or keeping a room nobody asked about.

        For the analytics' and the metrics' samples: a look must not change a node's
        share of the traffic, nor keep an idle room's counters alive.
        """
        ...

    def apply(self, room_id: str, deltas: Deltas, now_ms: int, /) -> None: ...

    async def draw(self, room_id: str, now_ms: int, /) -> bool:
        """Take a slot from the shared pool for this node; False when there is none to be had."""
        ...

    async def read(self, room_id: str, now_ms: int, /) -> RoomSnapshot:
        """The room's counters as every node together sees them now (for the status API; may do I/O)."""
        ...

    def drop_room(self, room_id: str) -> None:
        """Forget a deleted room's counters (a shared store lets its keys expire)."""
        ...

    async def start(self) -> None:
        """Restore saved counters or connect, and start any background work."""
        ...

    async def aclose(self) -> None:
        """Flush what is not yet written (deltas, saved counters) and stop."""
        ...

    def health(self) -> StateHealth:
        """Whether the backend's store answers, and since when not."""
        ...

    def memory_bytes(self) -> int:
        """Bytes held for room state (for the 10-million-visitor memory target)."""
        ...
