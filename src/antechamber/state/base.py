"""The port every state backend implements (in-process now, Redis later)."""

from __future__ import annotations

from typing import Protocol

from antechamber.core.counters import Deltas, RoomSnapshot


class RoomState(Protocol):
    """Aggregate counters per room.

    ``snapshot`` reads a room's counters as of ``now_ms`` (expiring what ran
    out); ``apply`` adds a decision's deltas. A backend may merge deltas and
    refresh snapshots per interval instead of per request; callers that reuse
    a snapshot fold their own decisions into it with
    :meth:`RoomSnapshot.with_deltas` so it never admits more than its free slots.
    """

    def snapshot(self, room_id: str, now_ms: int, /) -> RoomSnapshot: ...

    def apply(self, room_id: str, deltas: Deltas, now_ms: int, /) -> None: ...

    def memory_bytes(self) -> int:
        """Bytes held for room state (for the 10-million-visitor memory target)."""
        ...
