"""Decisions per second of the pure core over the in-process state.

Usage: ``python benchmarks/core_decide.py [--n 200000]``. Prints one line per
case: an admitted visitor's request (session check and renewal), a queued
visitor's counted refresh (snapshot, decide, apply), a queued visitor's early
refresh, a new arrival joining a long queue, and the cookie codec's seal/open.
No assertions: this is for comparing runs side by side.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from antechamber.core.cookie import CookieCodec, KeyRing, cookie_name
from antechamber.core.decide import decide
from antechamber.core.ticket import Ticket
from antechamber.core.types import RequestFacts, RoomConfig
from antechamber.state.memory import MemoryState

T0 = 1_800_000_000_000
FACTS = RequestFacts()


def _rate(label: str, n: int, run: Callable[[int], None]) -> None:
    # CPU time of this process: on a shared, loaded machine wall time mostly measures the neighbours.
    start = time.process_time()
    run(n)
    elapsed = time.process_time() - start
    print(f"{label:<44} {n / elapsed:>12,.0f} /s  {elapsed / n * 1e6:>7.2f} µs each (CPU)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="decisions per case")
    n = parser.parse_args().n
    rng = random.Random(1)
    config = RoomConfig(room_id="bench", total_active_users=10_000, new_users_per_minute=5_000, session_duration=5)
    state = MemoryState()

    # A queue of 100,000 people arriving over ten minutes, behind a full room.
    now = T0
    admitted: list[Ticket] = []
    queued: list[Ticket] = []
    for i in range(110_000):
        now = T0 + i * 6
        d = decide(config, state.snapshot("bench", now), None, FACTS, now, rng)
        state.apply("bench", d.deltas, now)
        assert d.ticket is not None
        (admitted if d.ticket.admitted else queued).append(d.ticket)

    # Sessions that are valid now (the ones admitted while the queue formed have expired).
    empty = MemoryState().snapshot("bench", now)
    admitted = [decide(config, empty, None, FACTS, now, rng).ticket for _ in range(1000)]  # type: ignore[misc]

    def admitted_requests(k: int) -> None:
        # An admitted visitor never touches the state (the gateway skips the snapshot too);
        # the clock moves 10 ms per request, so a renewal (expiry moved) happens every 5 s.
        snap = state.snapshot("bench", now)
        for i in range(k):
            t = now + i * 10 // len(admitted)
            decide(config, snap, admitted[i % len(admitted)], FACTS, t, rng)

    def queued_refreshes(k: int) -> None:
        t = now + 25_000  # everyone is due; the room is full, so nobody gets in
        for i in range(k):
            ticket = queued[i % len(queued)]
            d = decide(config, state.snapshot("bench", t), ticket, FACTS, t, rng)
            state.apply("bench", d.deltas, t)
            if d.ticket is not None:
                queued[i % len(queued)] = d.ticket

    def early_refreshes(k: int) -> None:
        t = now + 26_000  # just refreshed above: too early, ignored
        for i in range(k):
            decide(config, state.snapshot("bench", t), queued[i % len(queued)], FACTS, t, rng)

    def new_arrivals(k: int) -> None:
        t = now + 27_000
        for _ in range(k):
            d = decide(config, state.snapshot("bench", t), None, FACTS, t, rng)
            state.apply("bench", d.deltas, t)

    codec = CookieCodec(KeyRing(current_id=1, keys={1: bytes(32)}))
    name = cookie_name()
    sealed = codec.seal(queued[0], room_id="bench", name=name)

    def seal(k: int) -> None:
        for i in range(k):
            codec.seal(queued[i % 1000], room_id="bench", name=name)

    def open_(k: int) -> None:
        for _ in range(k):
            codec.open(sealed, room_id="bench", name=name, now_ms=now)

    _rate("admitted visitor (decide)", n, admitted_requests)
    _rate("queued refresh (snapshot + decide + apply)", n, queued_refreshes)
    _rate("early refresh (snapshot + decide)", n, early_refreshes)
    _rate("new arrival into a 100k queue", n, new_arrivals)
    _rate("cookie seal", n, seal)
    _rate("cookie open", n, open_)
    waiting = state.snapshot("bench", now + 27_000).waiting
    print(f"room state: {state.memory_bytes() / 1024:,.0f} KiB for {waiting:,} waiting")


if __name__ == "__main__":
    main()
