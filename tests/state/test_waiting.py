"""The waiting counters: place-second order, refresh-bucket expiry, bounded memory."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from antechamber.core.types import PRESENT_MS, QUEUE_PLACE_HOLD_MS, REFRESH_BUCKET_MS
from antechamber.state.waiting import WaitingCounters

BASE_S = 1_800_000_000


class Model:
    """The same counters kept naively, one counter per (bucket, second)."""

    def __init__(self, now_ms: int) -> None:
        self.rows: dict[int, Counter[int]] = {}
        self.present_from = (now_ms - PRESENT_MS) // REFRESH_BUCKET_MS

    def add(self, pos: int, bucket: int, n: int) -> None:
        self.rows.setdefault(bucket, Counter())[pos] += n

    def expire(self, now_ms: int) -> None:
        self.present_from = max(self.present_from, (now_ms - PRESENT_MS) // REFRESH_BUCKET_MS)
        for b in [b for b in self.rows if (b + 1) * REFRESH_BUCKET_MS + QUEUE_PLACE_HOLD_MS <= now_ms]:
            del self.rows[b]

    def ahead_all(self, pos: int) -> int:
        return sum(n for row in self.rows.values() for p, n in row.items() if p < pos)

    def ahead(self, pos: int) -> int:
        return sum(n for b, row in self.rows.items() if b >= self.present_from for p, n in row.items() if p < pos)

    @property
    def total(self) -> int:
        return sum(sum(row.values()) for row in self.rows.values())


ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "remove", "move", "tick"]),
        st.integers(min_value=-300, max_value=3000),  # place second offset: below the base forces a rebase
        st.integers(min_value=0, max_value=40),  # refresh bucket offset
        st.integers(min_value=1, max_value=5),
    ),
    max_size=120,
)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_matches_a_naive_model(script: list[tuple[str, int, int, int]]) -> None:
    """Under any mix of arrivals, refresh moves, departures and expiry, the counts match a naive per-pair count."""
    now_ms = (BASE_S + 1000) * 1000
    counters, model = WaitingCounters(), Model(now_ms)
    counters.expire(now_ms)
    held: list[tuple[int, int, int]] = []
    for op, pos_off, bucket_off, n in script:
        bucket = now_ms // REFRESH_BUCKET_MS - bucket_off % 3  # within the present window
        pos = BASE_S + pos_off
        if op == "add":
            counters.add(pos, bucket, n)
            model.add(pos, bucket, n)
            held.append((pos, bucket, n))
        elif op == "move" and held:
            pos, old, n = held.pop(pos_off % len(held))
            new = now_ms // REFRESH_BUCKET_MS
            counters.move(pos, old, new, n)
            if old in model.rows:
                model.add(pos, old, -n)
            model.add(pos, new, n)
            held.append((pos, new, n))
        elif op == "remove" and held:
            pos, bucket, n = held.pop(pos_off % len(held))
            if bucket in model.rows:  # a removal after its bucket was dropped is ignored
                counters.add(pos, bucket, -n)
                model.add(pos, bucket, -n)
        else:
            now_ms += bucket_off * 5_000
            counters.expire(now_ms)
            model.expire(now_ms)
        assert counters.total == model.total
    for probe in range(-400, 3100, 37):
        assert counters.ahead_all(BASE_S + probe) == model.ahead_all(BASE_S + probe)
        assert counters.ahead(BASE_S + probe) == model.ahead(BASE_S + probe)


def test_rows_drop_whole_after_the_hold() -> None:
    """A refresh bucket is dropped once its newest member's 5-minute hold has passed, not before."""
    c = WaitingCounters()
    now_ms = BASE_S * 1000
    bucket = now_ms // REFRESH_BUCKET_MS
    c.add(BASE_S, bucket, 10)
    drop_at = (bucket + 1) * REFRESH_BUCKET_MS + QUEUE_PLACE_HOLD_MS
    c.expire(drop_at - 1)
    assert c.total == 10
    c.expire(drop_at)
    assert c.total == 0 and c.ahead_all(BASE_S + 1) == 0


def test_removal_into_a_dropped_bucket_is_ignored() -> None:
    """A late departure for a bucket already dropped does not make the counts negative."""
    c = WaitingCounters()
    bucket = BASE_S * 1000 // REFRESH_BUCKET_MS
    c.add(BASE_S, bucket, 1)
    c.add(BASE_S + 5, bucket + 1, 1)
    c.expire((bucket + 1) * REFRESH_BUCKET_MS + QUEUE_PLACE_HOLD_MS)
    c.add(BASE_S, bucket, -1)
    assert c.total == 1 and c.ahead_all(BASE_S + 10) == 1


def test_draining_front_is_compacted() -> None:
    """As the front of the line drains, the arrays move their base instead of growing without end."""
    c = WaitingCounters()
    now_ms = BASE_S * 1000
    for hour in range(6):
        for s in range(0, 3600, 10):
            pos = BASE_S + hour * 3600 + s
            c.add(pos, now_ms // REFRESH_BUCKET_MS, 1)
            now_ms += 10_000
        c.expire(now_ms)  # everything older than 5 minutes is gone
    assert c.total <= 31
    assert c.memory_bytes() < 200_000


def test_places_in_random_order_keep_memory_to_their_span() -> None:
    """A shuffled prequeue (places in random order over 30 minutes) sizes the arrays to that span, not beyond."""
    import random

    counters = WaitingCounters()
    rng = random.Random(3)
    now_s, bucket = 1_800_000_000, 180_000_000
    for _ in range(20_000):
        counters.add(now_s + rng.randrange(1800), bucket, 1)
    assert 20_000 == counters.total
    # 1,800 seconds fit in 2,048 slots; doubling once more for spare room is the most allowed.
    assert counters.memory_bytes() < 256 * 1024
