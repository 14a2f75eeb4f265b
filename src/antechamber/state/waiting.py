"""The waiting counters: queued users counted by (place second, refresh bucket).

Memory is bounded by the span of place seconds times the number of live
refresh buckets, never by the number of people waiting: a row per 10-second
refresh bucket (at most 32 live: the 5-minute hold plus the current one) holds
one 32-bit count per place second, and a Fenwick tree over the live counts
answers "how many are ahead of second s" in O(log n).
"""

from __future__ import annotations

import sys
from array import array

from antechamber.core.types import QUEUE_PLACE_HOLD_MS, REFRESH_BUCKET_MS

_MIN_CAPACITY = 64
_NEVER = 1 << 62


def _drop_time(bucket: int) -> int:
    """When a refresh bucket's newest member has held its place for the full 5 minutes."""
    return (bucket + 1) * REFRESH_BUCKET_MS + QUEUE_PLACE_HOLD_MS


class WaitingCounters:
    """Live waiting users by place second; implements the core's ``QueueView``."""

    __slots__ = ("_base", "_cap", "_due_ms", "_fen", "_live", "_rows", "total")

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._base = 0  # place second of index 0
        self._cap = 0  # indices covered by _live and _fen
        self._live = array("q")  # live count per index (sum over rows)
        self._fen = array("q", [0])  # Fenwick tree over _live, 1-based
        self._rows: dict[int, array[int]] = {}  # refresh bucket -> count per index
        self._due_ms = _NEVER  # when the oldest refresh bucket is to be dropped
        self.total = 0

    def ahead(self, position_s: int, /) -> int:
        """Live waiting users whose place second is earlier than ``position_s``."""
        i = position_s - self._base
        if i <= 0 or not self.total:
            return 0
        if i >= self._cap:
            return self.total
        fen = self._fen
        s = 0
        while i:
            s += fen[i]
            i &= i - 1
        return s

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
        self._live[i] += n
        self.total += n
        fen, cap = self._fen, self._cap
        j = i + 1
        while j <= cap:
            fen[j] += n
            j += j & -j

    def expire(self, now_ms: int) -> None:
        """Drop refresh buckets whose newest member's 5-minute hold has run out."""
        if now_ms < self._due_ms:
            return
        dead = [b for b in self._rows if _drop_time(b) <= now_ms]
        self._due_ms = min((_drop_time(b) for b in self._rows if _drop_time(b) > now_ms), default=_NEVER)
        live = self._live
        changed = 0
        for bucket in dead:
            row = self._rows.pop(bucket)
            for i, c in enumerate(row):
                if c:
                    live[i] -= c
                    self.total -= c
                    changed += 1
        if not self._rows:
            self._reset()  # nobody left: release the arrays
        elif changed:
            self._compact()
            self._rebuild()

    def memory_bytes(self) -> int:
        """Bytes held by the counters (arrays and the row index)."""
        return (
            sys.getsizeof(self._live)
            + sys.getsizeof(self._fen)
            + sys.getsizeof(self._rows)
            + sum(sys.getsizeof(r) for r in self._rows.values())
        )

    def _reshape(self, position_s: int) -> None:
        """Make room for ``position_s``: move the base down or double the capacity."""
        if not self._cap:
            self._base = position_s
        lo = min(self._base, position_s)
        hi = max(self._base + self._cap, position_s + 1)
        cap = max(_MIN_CAPACITY, self._cap)
        while cap < hi - lo:
            cap *= 2
        shift = self._base - lo
        if shift:
            pad = array("i", bytes(4 * shift))
            for bucket, row in self._rows.items():
                self._rows[bucket] = pad + row
        live = array("q", bytes(8 * shift))
        live.extend(self._live)
        live.extend(array("q", bytes(8 * (cap - len(live)))))
        self._base, self._cap, self._live = lo, cap, live
        self._rebuild()

    def _compact(self) -> None:
        """Move the base past a leading run of empty seconds once it is half the capacity."""
        first = min((_first_nonzero(r, self._cap) for r in self._rows.values()), default=self._cap)
        if first < self._cap // 2:
            return
        for bucket, row in self._rows.items():
            self._rows[bucket] = row[first:]
        live = self._live[first:]
        live.extend(array("q", bytes(8 * first)))
        self._base += first
        self._live = live

    def _rebuild(self) -> None:
        """Rebuild the Fenwick tree from the live counts in O(n)."""
        cap = self._cap
        fen = array("q", [0])
        fen.extend(self._live)
        for i in range(1, cap + 1):
            j = i + (i & -i)
            if j <= cap:
                fen[j] += fen[i]
        self._fen = fen


def _first_nonzero(row: array[int], default: int) -> int:
    for i, c in enumerate(row):
        if c:
            return i
    return default
