"""The room's aggregate counters as the core sees them, and the changes it asks for.

A :class:`RoomSnapshot` is read from a state backend before a decision; the
:class:`Deltas` in the decision are applied back. Every delta is a sum, so a
backend may merge many of them before writing (the Redis backend merges a
second's worth per room into one script call).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import accumulate
from typing import Protocol

from antechamber.core.types import BUCKET_MS


class QueueView(Protocol):
    """Read access to the waiting counters ordered by place-in-line second."""

    def ahead(self, position_s: int, /) -> int:
        """Present waiting users (refreshed within ``PRESENT_MS``) placed in a second before ``position_s``."""
        ...


class EmptyQueue:
    """A queue with nobody in it (for rooms without state and for tests)."""

    __slots__ = ()

    def ahead(self, position_s: int, /) -> int:
        return 0


EMPTY_QUEUE = EmptyQueue()


class FrozenQueue:
    """An immutable queue view built from per-second counts of present users.

    For backends that read a snapshot per interval (Redis): the counts are
    fetched once and answered with a binary search, O(log n) per request.
    """

    __slots__ = ("_cumulative", "_seconds")

    def __init__(self, present_by_second: Mapping[int, int]) -> None:
        self._seconds = sorted(s for s, n in present_by_second.items() if n)
        self._cumulative = [0, *accumulate(present_by_second[s] for s in self._seconds)]

    def ahead(self, position_s: int, /) -> int:
        return self._cumulative[bisect_left(self._seconds, position_s)]


@dataclass(frozen=True, slots=True)
class Deltas:
    """Counter changes from one decision (or the sum of many).

    ``active`` holds ``(expiry second, +1/-1)`` pairs: an admitted user is
    counted by the second its session ends, and a renewal moves it. ``waiting``
    holds ``(place second, refresh bucket, +1/-1)`` triples. ``admitted`` new
    users were let in at the time of the decision, advancing the paced budget's
    schedule by ``pace_us`` microseconds. ``queue_open`` says the decision was an
    admission attempt while people were waiting: it marks the second as one that
    measured the outflow; ``admitted_open`` of the admissions were made then and
    count towards that outflow.

    ``moves_visitor`` marks the changes of one visitor's cookie moving between
    slots (a renewal, a counted refresh, an admission out of the queue, a
    revocation), never a merged batch: parallel requests carry the same cookie,
    so a backend may drop a repeat whose source slot is already empty.
    """

    active: tuple[tuple[int, int], ...] = ()
    waiting: tuple[tuple[int, int, int], ...] = ()
    admitted: int = 0
    pace_us: int = 0
    queue_open: bool = False
    admitted_open: int = 0
    moves_visitor: bool = False

    def __bool__(self) -> bool:
        return bool(
            self.active or self.waiting or self.admitted or self.pace_us or self.queue_open or self.admitted_open
        )


NO_DELTAS = Deltas()


def merge_deltas(batch: Iterable[Deltas]) -> Deltas:
    """Sum many decisions' deltas into one, as a backend that writes in batches does.

    Moves that cancel out (a renewal's -1 and +1 in one second) disappear.
    Applying the merged deltas at one instant equals applying them one by one at
    that instant.
    """
    active: dict[int, int] = {}
    waiting: dict[tuple[int, int], int] = {}
    admitted = pace = admitted_open = 0
    queue_open = False
    for d in batch:
        for key, n in d.active:
            active[key] = active.get(key, 0) + n
        for pos, bucket, n in d.waiting:
            waiting[pos, bucket] = waiting.get((pos, bucket), 0) + n
        admitted += d.admitted
        pace += d.pace_us
        queue_open = queue_open or d.queue_open
        admitted_open += d.admitted_open
    return Deltas(
        tuple((k, n) for k, n in active.items() if n),
        tuple((p, b, n) for (p, b), n in waiting.items() if n),
        admitted,
        pace,
        queue_open,
        admitted_open,
    )


@dataclass(frozen=True, slots=True)
class RoomSnapshot:
    """A room's counters at ``now_ms``.

    ``active``: sessions not yet expired. ``waiting``: queued users holding a
    place; ``present``: of them, those who refreshed within ``PRESENT_MS`` (only
    they block the line and enter the lottery odds). ``admitted_last_minute``:
    new users let in during the last ``CAP_WINDOW_S`` (61) whole seconds.
    ``pace_tat_us``: the paced budget's theoretical arrival time (GCRA, in
    microseconds so that the per-admission interval 60 s / ``new_users_per_minute``
    keeps its precision).
    ``open_seconds`` / ``admitted_open``: of the last ``OUTFLOW_WINDOW_S``, the
    seconds in which queued users were trying to get in, and the users let in
    while others were waiting; together they measure the outflow.
    ``next_expiry_s``: the second the earliest session counted in ``active`` ends
    unless renewed (0: none).

    ``allowance`` and ``pool`` are for a node that shares the room with others
    (the Redis backend): ``allowance`` is how many users this node may still
    let in on its own share of the free slots (None: one node holds the room,
    no share applies), and ``pool`` says the shared pool may have slots for it
    to draw when that share is spent. The free slots and the FIFO line stay
    global; the allowance only bounds what this node admits.
    """

    now_ms: int = 0
    active: int = 0
    waiting: int = 0
    present: int = 0
    admitted_last_minute: int = 0
    pace_tat_us: int = 0
    open_seconds: int = 0
    admitted_open: int = 0
    queue: QueueView = EMPTY_QUEUE
    next_expiry_s: int = 0
    allowance: int | None = None
    pool: bool = False

    def with_deltas(self, deltas: Deltas) -> RoomSnapshot:
        """This snapshot with ``deltas`` folded in, for callers that reuse one snapshot.

        Folding keeps a reused snapshot from admitting more than its free slots.
        The queue view is not updated: users admitted since the snapshot still
        count as ahead, which can only delay admissions, never add any.
        """
        if not deltas:
            return self
        now_s = self.now_ms // BUCKET_MS
        active = self.active + sum(n for expiry_s, n in deltas.active if expiry_s >= now_s)
        moved = sum(n for _, _, n in deltas.waiting)
        tat = self.pace_tat_us
        if deltas.pace_us:
            tat = max(tat, self.now_ms * 1000) + deltas.pace_us
        return RoomSnapshot(
            self.now_ms,
            active,
            self.waiting + moved,
            self.present + moved,
            self.admitted_last_minute + deltas.admitted,
            tat,
            self.open_seconds,
            self.admitted_open + deltas.admitted_open,
            self.queue,
            self.next_expiry_s,
            None if self.allowance is None else self.allowance - deltas.admitted,
            self.pool,
        )
