"""The in-process state backend: exact, for one process.

Per room: active sessions counted by their expiry second, waiting users by
(place second, refresh bucket) (see :mod:`antechamber.state.waiting`), and a
5-minute ring of admissions for the per-minute cap and the measured outflow,
plus the paced budget's schedule. Snapshots share the live waiting counters,
so a snapshot taken per request is exact.

Given a file, the counters survive a restart: :meth:`MemoryState.start`
restores them and :meth:`MemoryState.aclose` saves them, with a save every few
seconds between (see :mod:`antechamber.state.snapshot_file` for the format).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from array import array
from collections.abc import Callable
from pathlib import Path

from antechamber.core.counters import Deltas, RoomSnapshot
from antechamber.core.types import BUCKET_MS, CAP_WINDOW_S, OUTFLOW_WINDOW_S
from antechamber.state import snapshot_file
from antechamber.state.base import StateHealth
from antechamber.state.snapshot_file import RoomRecord, Saved, SnapshotError
from antechamber.state.waiting import WaitingCounters

logger = logging.getLogger(__name__)

_RING = OUTFLOW_WINDOW_S  # seconds of admission history
_MINUTE_S = CAP_WINDOW_S
#: Past this gap it is cheaper to scan the expiry keys than every second.
_SCAN_LIMIT = 4096
#: Below this many expiry seconds held, the earliest is found by reading them all.
_NEXT_EXPIRY_SCAN = 64


class _Room:
    __slots__ = (
        "active",
        "active_floor_s",
        "active_total",
        "adm",
        "next_expiry",
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
        self.next_expiry = 0  # the earliest second holding a session, when known (0: to be found)
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
                # Seconds leaving the cap's window: (ring_s - 60) .. (now_s - 61).
                for s in range(self.ring_s - _MINUTE_S + 1, now_s - _MINUTE_S + 1):
                    self.adm_minute -= adm[s % _RING]
            else:
                self.adm_minute = 0
            self.ring_s = now_s
        self.waiting.expire(now_ms)

    def record(self) -> RoomRecord:
        """The room's counters as they are (not advanced), to save."""
        seconds = range(self.ring_s - _RING + 1, self.ring_s + 1)
        return RoomRecord(
            dict(self.active),
            self.active_floor_s,
            self.ring_s,
            array("q", (self.adm[s % _RING] for s in seconds)),
            array("q", (self.adm_open[s % _RING] for s in seconds)),
            bytes(self.open[s % _RING] for s in seconds),
            self.pace_tat_us,
            self.waiting.export(),
        )

    @classmethod
    def restore(cls, record: RoomRecord) -> _Room:
        """A room holding ``record`` as it was saved; advance it to now before use.

        Raises ValueError when the record does not hold together.
        """
        room = cls(record.ring_s)
        room.active = {s: n for s, n in record.active.items() if s >= record.active_floor_s}
        room.active_total = sum(room.active.values())
        room.active_floor_s = record.active_floor_s
        # The newest _RING seconds of the saved history, each in its slot.
        ring_s, n = record.ring_s, len(record.admitted)
        for k in range(max(0, n - _RING), n):
            slot = (ring_s - n + 1 + k) % _RING
            room.adm[slot] = record.admitted[k]
            room.adm_open[slot] = record.admitted_open[k]
            room.open[slot] = bool(record.open[k])
        room.adm_total = sum(room.adm)
        room.adm_open_total = sum(room.adm_open)
        room.open_total = sum(room.open)
        room.adm_minute = sum(room.adm[s % _RING] for s in range(ring_s - _MINUTE_S + 1, ring_s + 1))
        room.pace_tat_us = record.pace_tat_us
        room.waiting = WaitingCounters.restore(record.waiting)
        return room

    def next_expiry_s(self) -> int:
        """The second the earliest session ends (0: none); call after :meth:`advance`.

        Kept from one call to the next while that second still holds a session
        (:meth:`apply` lowers it when an earlier one gets some), so a room that
        just filled scans its gap, up to a session's length in seconds, once
        rather than on every queued request.
        """
        if self.active_total <= 0:
            return 0
        active = self.active
        floor = self.active_floor_s
        known = self.next_expiry
        if known >= floor and active.get(known, 0) > 0:
            return known
        self.next_expiry = known = self._find_next_expiry(active, floor)
        return known

    @staticmethod
    def _find_next_expiry(active: dict[int, int], floor: int) -> int:
        if len(active) >= _NEXT_EXPIRY_SCAN:
            for s in range(floor, floor + _SCAN_LIMIT):
                if active.get(s, 0) > 0:
                    return s
        # Few seconds held, or none of them within the scan: read them all.
        return min((s for s, n in active.items() if n > 0), default=0)

    def apply(self, deltas: Deltas, now_ms: int) -> None:
        if self._duplicate(deltas):
            return
        for expiry_s, n in deltas.active:
            if expiry_s >= self.active_floor_s:  # an expired second's users already left
                self.active[expiry_s] = self.active.get(expiry_s, 0) + n
                self.active_total += n
                if n > 0 and expiry_s < self.next_expiry:
                    self.next_expiry = expiry_s
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


def _ms() -> int:
    return time.time_ns() // 1_000_000


def _load(path: Path) -> tuple[int, dict[str, _Room]] | None:
    """When the rooms saved at ``path`` were saved and the rooms, not yet advanced (blocking).

    None when there is no file, or it cannot be used: that is logged without
    the file's contents, and the node starts empty.
    """
    try:
        saved = snapshot_file.read(path)
        if saved is None:
            return None
        return saved.saved_ms, {room_id: _Room.restore(record) for room_id, record in saved.rooms.items()}
    except (SnapshotError, ValueError) as exc:
        logger.warning("the room counters saved in %s are not restored (%s): starting empty", path, exc)
        return None


class MemoryState:
    """Room counters in this process; implements :class:`~antechamber.state.base.RoomState`.

    Example::

        state = MemoryState(data_dir / "room-state.bin")
        await state.start()   # restores the saved counters, then saves every 5 s
        ...
        await state.aclose()  # saves a last time

    Args:
        path: the file to keep the counters in across restarts (None: they live
            and die with the process). A file that cannot be used is logged and
            the node starts empty; the next save replaces it.
        save_interval: seconds between saves while running.
        clock: epoch milliseconds, to advance restored counters and stamp saves.
    """

    #: Never fails open: the counters are in this process.
    open = False

    def __init__(self, path: Path | None = None, *, save_interval: float = 5.0, clock: Callable[[], int] = _ms) -> None:
        self._rooms: dict[str, _Room] = {}
        self.path = path
        self.save_interval = save_interval
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._save_lock = asyncio.Lock()
        self._dirty = False  # changed since the last save
        self._save_failing = False

    def _room(self, room_id: str, now_ms: int) -> _Room:
        room = self._rooms.get(room_id)
        if room is None:
            room = self._rooms[room_id] = _Room(now_ms // BUCKET_MS)
        room.advance(now_ms)
        return room

    def peek(self, room_id: str, now_ms: int, /) -> RoomSnapshot:
        """The room's counters at ``now_ms`` (zeros for a room never asked about)."""
        return self.snapshot(room_id, now_ms) if room_id in self._rooms else RoomSnapshot(now_ms)

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
            room.next_expiry_s(),
        )

    def apply(self, room_id: str, deltas: Deltas, now_ms: int, /) -> None:
        """Add one decision's (or a merged batch's) deltas at ``now_ms``."""
        if deltas:
            self._room(room_id, now_ms).apply(deltas, now_ms)
            self._dirty = True

    async def draw(self, room_id: str, now_ms: int, /) -> bool:
        """Never needed: one process holds the room, so its snapshots carry no allowance."""
        return False

    async def read(self, room_id: str, now_ms: int, /) -> RoomSnapshot:
        """The same as :meth:`snapshot`: this process sees everything."""
        return self.snapshot(room_id, now_ms)

    def drop_room(self, room_id: str) -> None:
        """Forget a deleted room's counters."""
        if self._rooms.pop(room_id, None) is not None:
            self._dirty = True

    async def start(self) -> None:
        """Restore the saved counters and start saving them periodically (nothing to do without a file).

        Restored rooms are advanced to now as a live room would be: sessions
        that expired and refresh buckets whose hold ran out while the node was
        down are gone. A room this process already counts keeps its counters.
        """
        if self.path is None or self._task is not None:
            return
        loaded = await asyncio.to_thread(_load, self.path)
        if loaded is not None:
            saved_ms, rooms = loaded
            now_ms = self.clock()
            for room_id, room in rooms.items():
                if room_id not in self._rooms:
                    room.advance(now_ms)
                    self._rooms[room_id] = room
            ago_s = max(0, now_ms - saved_ms) / 1000
            logger.info("restored the counters of %d rooms saved %.0f s ago from %s", len(rooms), ago_s, self.path)
        self._stop = asyncio.Event()  # of this event loop
        self._task = asyncio.create_task(self._run(), name="antechamber-state-save")

    async def aclose(self) -> None:
        """Stop saving periodically and save a last time (nothing to do without a file)."""
        task, self._task = self._task, None
        if task is not None:
            self._stop.set()
            await task  # lets a save under way finish, so it cannot land after the last one
        await self.save()

    async def save(self) -> None:
        """Write the counters to the file now, if they changed since the last save.

        A failed write is logged (once until one succeeds again) and the
        counters stay in memory: the next save tries again.
        """
        path = self.path
        if path is None:
            return
        async with self._save_lock:
            if not self._dirty:
                return
            self._dirty = False
            rooms = {room_id: room.record() for room_id, room in self._rooms.items()}
            try:
                body = snapshot_file.encode(Saved(self.clock(), rooms))
                await asyncio.to_thread(snapshot_file.write, path, body)
            except (OSError, ValueError) as exc:
                self._dirty = True
                if not self._save_failing:
                    self._save_failing = True
                    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                    logger.warning("cannot save the room counters to %s (%s); retrying", path, reason)
                return
            if self._save_failing:
                self._save_failing = False
                logger.info("saved the room counters to %s again", path)

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.wait_for(self._stop.wait(), self.save_interval)
            except TimeoutError:
                try:
                    await self.save()
                except Exception:  # a bug must not stop the saves, nor the shutdown that awaits this task
                    logger.exception("saving the room counters failed")

    def health(self) -> StateHealth:
        """Always healthy: the counters are in this process."""
        return StateHealth("memory", True)

    def memory_bytes(self) -> int:
        """Bytes held for all rooms' counters."""
        return sys.getsizeof(self._rooms) + sum(r.memory_bytes() for r in self._rooms.values())
