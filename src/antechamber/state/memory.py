"""The in-process state backend: exact, for one process.

Per room: active sessions counted by their expiry second, waiting users by
(place second, refresh bucket) (see :mod:`antechamber.state.waiting`), and a
5-minute ring of admissions for the per-minute cap and the measured outflow,
plus the paced budget's schedule. Snapshots share the live waiting counters,
so a snapshot taken per request is exact.
"""

from __future__ import annotations

import sys

from antechamber.core.counters import Deltas, RoomSnapshot
from antechamber.core.types import BUCKET_MS, FIFO_LOOKAHEAD_MS, OUTFLOW_WINDOW_S
from antechamber.state.base import StateHealth
from antechamber.state.waiting import WaitingCounters

_RING = OUTFLOW_WINDOW_S  # seconds of admission history
_MINUTE_S = 60
#: Past this gap it is cheaper to scan the expiry keys than every second.
_SCAN_LIMIT = 4096


class _Room:
    __slots__ = (
        "active",
        "active_floor_s",
        "active_total",
        "adm",
        "adm_minute",
        "adm_open",
        "adm_open_total",
        "adm_total",
        "open",
        "open_total",
        "pace_tat_us",
        "ring_s",
        "waiting",
    )

    def __init__(self, now_s: int) -> None:
        self.active: dict[int, int] = {}  # expiry second -> sessions
        self.active_total = 0
        self.active_floor_s = now_s  # expiry seconds below this are gone
        self.waiting = WaitingCounters()
        self.adm = [0] * _RING  # admissions per second, by second % _RING
        self.adm_open = [0] * _RING  # of which users let in while others were waiting
        self.open = [False] * _RING  # queued users tried to get in during that second
        self.adm_total = 0
        self.adm_minute = 0  # admissions in the last 60 s
        self.open_total = 0
        self.adm_open_total = 0  # admissions while others were waiting
        self.ring_s = now_s  # the newest second in the ring
        self.pace_tat_us = 0

    def advance(self, now_ms: int) -> None:
        """Expire sessions, refresh buckets and admission history up to ``now_ms``."""
        now_s = now_ms // BUCKET_MS
        if now_s > self.active_floor_s:
            active = self.active
            if now_s - self.active_floor_s <= _SCAN_LIMIT:
                gone = sum(active.pop(s, 0) for s in range(self.active_floor_s, now_s))
            else:
                old = [s for s in active if s < now_s]
                gone = sum(active.pop(s) for s in old)
            self.active_total -= gone
            self.active_floor_s = now_s
        if now_s > self.ring_s:
            adm = self.adm
            for s in range(max(self.ring_s + 1, now_s - _RING + 1), now_s + 1):
                slot = s % _RING
                self.adm_total -= adm[slot]
                self.adm_open_total -= self.adm_open[slot]
                if self.open[slot]:
                    self.open_total -= 1
                    self.open[slot] = False
                adm[slot] = self.adm_open[slot] = 0
            if now_s - self.ring_s < _MINUTE_S:
                # Seconds leaving the last minute: (ring_s - 59) .. (now_s - 60).
                for s in range(self.ring_s - _MINUTE_S + 1, now_s - _MINUTE_S + 1):
                    self.adm_minute -= adm[s % _RING]
            else:
                self.adm_minute = 0
            self.ring_s = now_s
        self.waiting.expire(now_ms)

    def expiring(self, now_ms: int) -> int:
        """Sessions ending within the FIFO lookahead (their expiry second is that close)."""
        if not self.active_total:
            return 0
        get = self.active.get
        now_s = now_ms // BUCKET_MS
        return sum(get(s, 0) for s in range(now_s, (now_ms + FIFO_LOOKAHEAD_MS) // BUCKET_MS + 1))

    def apply(self, deltas: Deltas, now_ms: int) -> None:
        if self._duplicate(deltas):
            return
        for expiry_s, n in deltas.active:
            if expiry_s >= self.active_floor_s:  # an expired second's users already left
                self.active[expiry_s] = self.active.get(expiry_s, 0) + n
                self.active_total += n
        waiting = self.waiting
        moves = deltas.waiting
        if len(moves) == 2 and moves[0][0] == moves[1][0] and moves[0][2] == -moves[1][2] < 0:
            # One user's counted refresh: same place, newer refresh bucket.
            waiting.move(moves[0][0], moves[0][1], moves[1][1], moves[1][2])
        else:
            for position_s, bucket, n in moves:
                waiting.add(position_s, bucket, n)
        slot = self.ring_s % _RING
        if deltas.queue_open and not self.open[slot]:
            self.open[slot] = True
            self.open_total += 1
        if deltas.admitted:
            self.adm[slot] += deltas.admitted
            self.adm_total += deltas.admitted
            self.adm_minute += deltas.admitted
        if deltas.admitted_open:
            # Only admissions out of a queue measure the room's outflow; a
            # newcomer let straight into an empty room says nothing about it.
            self.adm_open[slot] += deltas.admitted_open
            self.adm_open_total += deltas.admitted_open
        if deltas.pace_us:
            self.pace_tat_us = max(self.pace_tat_us, now_ms * 1000) + deltas.pace_us

    def _duplicate(self, deltas: Deltas) -> bool:
        """Whether ``deltas`` repeat a change the same cookie already made (parallel requests).

        A browser loads a page and its assets in parallel, all with one cookie, so
        a renewal or an admission out of the queue arrives several times at once.
        Counting each would add phantom users; without any per-visitor record,
        the counters tell a repeat by the slot it moves out of being empty already.
        """
        if not deltas.moves_visitor:
            return False
        active = deltas.active
        if active and active[0][1] == -1:
            # A renewal (old expiry -1, new +1) or a revocation (-1): the old slot must hold someone.
            old_s = active[0][0]
            return old_s >= self.active_floor_s and self.active.get(old_s, 0) <= 0
        if deltas.admitted and len(deltas.waiting) == 1 and deltas.waiting[0][2] == -1:
            # An admission out of the queue takes the user's place, which must still be there.
            position_s, bucket, _ = deltas.waiting[0]
            held = self.waiting.count(position_s, bucket)
            return held is not None and held <= 0
        return False

    def memory_bytes(self) -> int:
        return (
            sys.getsizeof(self.active)
            + sys.getsizeof(self.adm)
            + sys.getsizeof(self.open)
            + sys.getsizeof(self.adm_open)
            + self.waiting.memory_bytes()
            + 64 * len(self.__slots__)
        )


class MemoryState:
    """Room counters in this process; implements :class:`~antechamber.state.base.RoomState`."""

    #: Never fails open: the counters are in this process.
    open = False

    def __init__(self) -> None:
        self._rooms: dict[str, _Room] = {}

    def _room(self, room_id: str, now_ms: int) -> _Room:
        room = self._rooms.get(room_id)
        if room is None:
            room = self._rooms[room_id] = _Room(now_ms // BUCKET_MS)
        room.advance(now_ms)
        return room

    def snapshot(self, room_id: str, now_ms: int, /) -> RoomSnapshot:
        """The room's counters at ``now_ms``; the queue view stays live."""
        room = self._room(room_id, now_ms)
        return RoomSnapshot(
            now_ms,
            room.active_total,
            room.waiting.total,
            room.waiting.present,
            room.adm_minute,
            room.pace_tat_us,
            room.open_total,
            room.adm_open_total,
            room.waiting,
            room.expiring(now_ms),
        )

    def apply(self, room_id: str, deltas: Deltas, now_ms: int, /) -> None:
        """Add one decision's (or a merged batch's) deltas at ``now_ms``."""
        if deltas:
            self._room(room_id, now_ms).apply(deltas, now_ms)

    async def draw(self, room_id: str, now_ms: int, /) -> bool:
        """Never needed: one process holds the room, so its snapshots carry no allowance."""
        return False

    async def read(self, room_id: str, now_ms: int, /) -> RoomSnapshot:
        """The same as :meth:`snapshot`: this process sees everything."""
        return self.snapshot(room_id, now_ms)

    def drop_room(self, room_id: str) -> None:
        """Forget a deleted room's counters."""
        self._rooms.pop(room_id, None)

    async def start(self) -> None:
        """Nothing to start."""

    async def aclose(self) -> None:
        """Nothing to flush."""

    def health(self) -> StateHealth:
        """Always healthy: the counters are in this process."""
        return StateHealth("memory", True)

    def memory_bytes(self) -> int:
        """Bytes held for all rooms' counters."""
        return sys.getsizeof(self._rooms) + sum(r.memory_bytes() for r in self._rooms.values())
