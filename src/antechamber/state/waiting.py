"""The waiting counters: queued users counted by (place second, refresh bucket).

Memory is bounded by the span of place seconds times the number of live
refresh buckets, never by the number of people waiting: a row per 10-second
refresh bucket (at most 32 live: the 5-minute hold plus the current one) holds
one 32-bit count per place second. Two Fenwick trees over the place seconds
answer "how many are ahead of second s" in O(log n): one over everyone who
holds a place, one over those *present*, who refreshed within the last
``PRESENT_MS``. Only present users block the line: someone who stopped
refreshing keeps the place for 5 minutes (and goes straight in on return if
it is their turn) but does not hold up everyone behind meanwhile.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Mapping
from dataclasses import dataclass

from antechamber.core.types import PRESENT_MS, QUEUE_PLACE_HOLD_MS, REFRESH_BUCKET_MS

_MIN_CAPACITY = 64
#: A restored capacity past this (four years of place seconds) is a damaged file, not a queue.
_MAX_CAPACITY = 1 << 27
_NEVER = 1 << 62


def _drop_time(bucket: int) -> int:
    """When a refresh bucket's newest member has held its place for the full 5 minutes."""
    return (bucket + 1) * REFRESH_BUCKET_MS + QUEUE_PLACE_HOLD_MS


def _present_from(now_ms: int) -> int:
    """The oldest refresh bucket whose newest member refreshed within ``PRESENT_MS``."""
    return (now_ms - PRESENT_MS) // REFRESH_BUCKET_MS


class _Fenwick:
    """Counts per index with O(log n) prefix sums."""

    __slots__ = ("counts", "total", "tree")

    def __init__(self, cap: int) -> None:
        self.counts = array("q", bytes(8 * cap))
        self.tree = array("q", bytes(8 * (cap + 1)))
        self.total = 0

    def add(self, i: int, n: int) -> None:
        self.counts[i] += n
        self.total += n
        tree = self.tree
        cap = len(tree) - 1
        j = i + 1
        while j <= cap:
            tree[j] += n
            j += j & -j

    def prefix(self, i: int) -> int:
        """Sum of counts[0:i]."""
        tree = self.tree
        s = 0
        while i:
            s += tree[i]
            i &= i - 1
        return s

    def subtract_row(self, row: array[int]) -> None:
        """Take a whole row out; rebuilding in O(n) beats per-entry updates for dense rows."""
        counts = self.counts
        changed = 0
        for i, c in enumerate(row):
            if c:
                counts[i] -= c
                self.total -= c
                changed += 1
        if changed:
            self.rebuild()

    def reshape(self, shift: int, cap: int) -> None:
        """Move the data ``shift`` places up (negative: down) inside a capacity of ``cap``."""
        if shift >= 0:
            counts = array("q", bytes(8 * shift))
            counts.extend(self.counts)
        else:
            counts = self.counts[-shift:]
        if len(counts) < cap:
            counts.extend(array("q", bytes(8 * (cap - len(counts)))))
        self.counts = counts[:cap]
        self.rebuild()

    def rebuild(self) -> None:
        cap = len(self.counts)
        tree = array("q", [0])
        tree.extend(self.counts)
        for i in range(1, cap + 1):
            j = i + (i & -i)
            if j <= cap:
                tree[j] += tree[i]
        self.tree = tree

    def nbytes(self) -> int:
        return sys.getsizeof(self.counts) + sys.getsizeof(self.tree)


@dataclass(frozen=True, slots=True)
class WaitingRows:
    """What the waiting counters hold, to save and restore them: one row of counts per refresh bucket.

    The layout is kept as it was (base, capacity, row lengths), so restored
    counters go on exactly as the saved ones would have, even for a late
    departure into a slot nobody was counted in.
    """

    #: The place second of index 0 of every row.
    base: int
    #: Indices covered by the trees (0 or 64 times a power of two, at least every row's length).
    capacity: int
    #: Rows from this refresh bucket on count as present.
    present_from: int
    #: Refresh bucket -> count per place second from ``base`` (int32).
    rows: Mapping[int, array[int]]


class WaitingCounters:
    """Waiting users by place second; implements the core's ``QueueView``."""

    __slots__ = ("_base", "_cap", "_due_ms", "_live", "_present", "_present_from", "_rows")

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._base = 0  # place second of index 0
        self._cap = 0  # indices covered by the trees
        self._live = _Fenwick(0)  # everyone holding a place
        self._present = _Fenwick(0)  # of whom refreshed within PRESENT_MS
        self._present_from = 0  # rows from this bucket on are counted as present
        self._rows: dict[int, array[int]] = {}  # refresh bucket -> count per index
        self._due_ms = _NEVER  # when the oldest refresh bucket is to be dropped

    @property
    def total(self) -> int:
        """Everyone holding a place."""
        return self._live.total

    @property
    def present(self) -> int:
        """Those who refreshed within ``PRESENT_MS``."""
        return self._present.total

    def ahead(self, position_s: int, /) -> int:
        """Present waiting users whose place second is earlier than ``position_s``."""
        i = position_s - self._base
        if i <= 0:
            return 0
        if i >= self._cap:
            return self._present.total
        return self._present.prefix(i)

    def ahead_all(self, position_s: int, /) -> int:
        """Everyone holding a place earlier than ``position_s``, present or not."""
        i = position_s - self._base
        if i <= 0:
            return 0
        if i >= self._cap:
            return self._live.total
        return self._live.prefix(i)

    def present_by_second(self) -> dict[int, int]:
        """Present users per place second (to freeze a view, or to ship to another backend)."""
        counts = self._present.counts
        base = self._base
        return {base + i: c for i, c in enumerate(counts) if c}

    def add(self, position_s: int, bucket: int, n: int) -> None:
        """Count ``n`` (±) users at ``position_s`` whose last counted refresh is in ``bucket``."""
        row = self._rows.get(bucket)
        i = position_s - self._base
        if n < 0 and (row is None or i < 0 or i >= len(row)):
            return  # already dropped with its refresh bucket
        if i < 0 or i >= self._cap:
            self._reshape(position_s)  # replaces the row arrays: fetch the row again
            i = position_s - self._base
            row = self._rows.get(bucket)
        if row is None:
            row = self._rows[bucket] = array("i")
            self._due_ms = min(self._due_ms, _drop_time(bucket))
        if i >= len(row):
            row.extend(array("i", bytes(4 * (i + 1 - len(row)))))
        row[i] += n
        self._live.add(i, n)
        if bucket >= self._present_from:
            self._present.add(i, n)

    def count(self, position_s: int, bucket: int) -> int | None:
        """Users counted at ``position_s`` in ``bucket``; None when that bucket holds no row (dropped)."""
        row = self._rows.get(bucket)
        if row is None:
            return None
        i = position_s - self._base
        return row[i] if 0 <= i < len(row) else 0

    def move(self, position_s: int, from_bucket: int, to_bucket: int, n: int = 1) -> None:
        """Move ``n`` users at ``position_s`` to a newer refresh bucket (a counted refresh).

        The place does not change, so the tree over everyone is untouched and
        the tree over present users only changes for a user coming back. A move
        out of a slot that holds fewer than ``n`` is a duplicate: the same cookie
        sent by parallel requests, already moved by the first of them.
        """
        row = self._rows.get(from_bucket)
        i = position_s - self._base
        if row is None or i < 0 or i >= len(row):
            self.add(position_s, to_bucket, n)  # the old bucket was dropped: a fresh place
            return
        if row[i] < n:
            return
        row[i] -= n
        new_row = self._rows.get(to_bucket)
        if new_row is None:
            new_row = self._rows[to_bucket] = array("i")
            self._due_ms = min(self._due_ms, _drop_time(to_bucket))
        if i >= len(new_row):
            new_row.extend(array("i", bytes(4 * (i + 1 - len(new_row)))))
        new_row[i] += n
        was_present, is_present = from_bucket >= self._present_from, to_bucket >= self._present_from
        if was_present != is_present:
            self._present.add(i, n if is_present else -n)

    def expire(self, now_ms: int) -> None:
        """Stop counting rows as present after ``PRESENT_MS``; drop them after the 5-minute hold."""
        present_from = _present_from(now_ms)
        if present_from > self._present_from:
            for bucket, row in self._rows.items():
                if self._present_from <= bucket < present_from:
                    self._present.subtract_row(row)
            self._present_from = present_from
        if now_ms < self._due_ms:
            return
        dead = [b for b in self._rows if _drop_time(b) <= now_ms]
        self._due_ms = min((_drop_time(b) for b in self._rows if _drop_time(b) > now_ms), default=_NEVER)
        for bucket in dead:
            self._live.subtract_row(self._rows.pop(bucket))
        if not self._rows:
            present_from = self._present_from
            self._reset()  # nobody left: release the arrays
            self._present_from = present_from
        else:
            self._compact()

    def export(self) -> WaitingRows:
        """A copy of the counters' rows (the trees are rebuilt from them on restore)."""
        rows = {bucket: array("i", row) for bucket, row in self._rows.items()}
        return WaitingRows(self._base, self._cap, self._present_from, rows)

    @classmethod
    def restore(cls, saved: WaitingRows) -> WaitingCounters:
        """Counters holding ``saved`` as it was; the caller expires them to now.

        Raises ValueError when the rows do not fit the layout they claim.
        """
        cap = saved.capacity
        doublings = cap // _MIN_CAPACITY
        if cap < 0 or cap and (cap % _MIN_CAPACITY or doublings & (doublings - 1) or cap > _MAX_CAPACITY):
            raise ValueError("the waiting capacity is not one the counters use")
        if saved.rows and not cap:
            raise ValueError("waiting rows without capacity")
        if any(len(row) > cap for row in saved.rows.values()):
            raise ValueError("a waiting row is longer than the capacity")
        counters = cls()
        counters._present_from = saved.present_from
        if not saved.rows:
            return counters
        counters._base, counters._cap = saved.base, cap
        live, present = _Fenwick(cap), _Fenwick(cap)
        for bucket, row in saved.rows.items():
            counters._rows[bucket] = array("i", row)
            trees = (live, present) if bucket >= saved.present_from else (live,)
            for tree in trees:
                counts = tree.counts
                for i, c in enumerate(row):
                    if c:
                        counts[i] += c
                        tree.total += c
        live.rebuild()
        present.rebuild()
        counters._live, counters._present = live, present
        counters._due_ms = min(_drop_time(b) for b in saved.rows)
        return counters

    def memory_bytes(self) -> int:
        """Bytes held by the counters (arrays and the row index)."""
        return (
            self._live.nbytes()
            + self._present.nbytes()
            + sys.getsizeof(self._rows)
            + sum(sys.getsizeof(r) for r in self._rows.values())
        )

    def _reshape(self, position_s: int) -> None:
        """Make room for ``position_s``: move the base down or double the capacity.

        The span that must fit is what the rows use, not the old capacity: measuring
        from ``base + cap`` doubled the capacity on every step down, so a shuffled
        prequeue (places in random order) took about 60 times the memory it needed.
        Growing downwards leaves the spare room below, so a queue that keeps gaining
        earlier places is reshaped O(log n) times.
        """
        if not self._cap:
            self._base = position_s
        used_hi = self._base + max((len(row) for row in self._rows.values()), default=0)
        lo = min(self._base, position_s)
        hi = max(used_hi, position_s + 1)
        cap = max(_MIN_CAPACITY, self._cap)
        while cap < hi - lo:
            cap *= 2
        if position_s < self._base:
            lo = hi - cap
        shift = self._base - lo
        if shift:
            pad = array("i", bytes(4 * shift))
            for bucket, row in self._rows.items():
                self._rows[bucket] = pad + row
        self._live.reshape(shift, cap)
        self._present.reshape(shift, cap)
        self._base, self._cap = lo, cap

    def _compact(self) -> None:
        """Move the base past a leading run of empty seconds once it is half the capacity."""
        first = min((_first_nonzero(r, self._cap) for r in self._rows.values()), default=self._cap)
        if first < self._cap // 2:
            return
        for bucket, row in self._rows.items():
            self._rows[bucket] = row[first:]
        self._live.reshape(-first, self._cap)
        self._present.reshape(-first, self._cap)
        self._base += first


def _first_nonzero(row: array[int], default: int) -> int:
    for i, c in enumerate(row):
        if c:
            return i
    return default
