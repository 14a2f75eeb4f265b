"""The hot-path cost of timing requests (antechamber_request_duration_seconds), with and without, side by side.

    python benchmarks/request_timing.py              # about a minute
    python benchmarks/request_timing.py --n 20000 --rounds 3   # a quick look

In one process, no sockets: the part of a request that timing touches is
``Gateway.handle`` (the decision and the answer built, the same for the
uvicorn and the raw front end) and, for a proxied request, two
``perf_counter_ns()`` calls and one ``record()`` in ``forward()``. So this
times ``handle()`` on three requests, each with ``gateway.timings`` unset and
set, in alternating rounds (CPU time of this process, median of the rounds):

* an admitted visitor's forward-auth check (``GET /.antechamber/auth``),
* an admitted visitor's request to be proxied (the decision that returns ``Forward``),
* a queued visitor's early refresh (the queue page rendered, no state write),

and first the pieces alone: ``Histogram.labels(...).observe()``, ``observe()``
on a cached child, ``RequestTimings.record()`` and a ``perf_counter_ns()`` pair.
The proxied round trip's own timing adds one ``record()`` and a
``perf_counter_ns()`` pair to a request that costs the gateway well over 50 µs.
"""

from __future__ import annotations

import argparse
import statistics
import time
import timeit
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Histogram

from antechamber.api.models.room import RoomInput
from antechamber.core.cookie import CookieCodec, KeyRing
from antechamber.gateway.app import Gateway
from antechamber.gateway.config import entry_from_stored
from antechamber.gateway.offline import asgi_scope, offline_gateway, room_cookie
from antechamber.gateway.timing import LATENCY_BUCKETS, OUTCOMES, RequestTimings

OPEN_HOST = "shop.example.com"
FULL_HOST = "queue.example.com"


def scope(host: str, path: str, cookie: str | None = None) -> dict[str, Any]:
    headers = [(b"user-agent", b"bench"), (b"accept", b"text/html")]
    if path.startswith("/.antechamber/"):
        headers += [(b"x-forwarded-host", host.encode()), (b"x-forwarded-uri", b"/products/42?ref=home")]
    return asgi_scope(host, path, cookie=cookie, headers=headers, client=("127.0.0.1", 5000))


def room(host: str, name: str, total: int) -> dict[str, Any]:
    body = RoomInput.model_validate(
        {"host": host, "name": name, "total_active_users": 200, "new_users_per_minute": 200}
    ).model_dump(mode="json")
    body["total_active_users"] = total  # 0 for the full room: everyone queues
    return body


def build() -> tuple[Gateway, dict[str, dict[str, Any]]]:
    still = time.time_ns() // 1_000_000
    entries = [
        entry_from_stored("open", "z", room(OPEN_HOST, "open", 1_000_000)),
        entry_from_stored("full", "z", room(FULL_HOST, "full", 0)),
    ]
    gateway = offline_gateway(
        entries,
        CookieCodec(KeyRing(current_id=1, keys={1: bytes(range(32))})),
        # A still clock: a run longer than the renewal step or the 20 s refresh interval would
        # otherwise turn its later requests into renewals or counted refreshes (other work).
        clock=lambda: still,
    )

    admitted = room_cookie(gateway.handle(scope(OPEN_HOST, "/")))
    queued = room_cookie(gateway.handle(scope(FULL_HOST, "/")))
    cases = {
        "admitted, forward auth": scope(OPEN_HOST, "/.antechamber/auth", admitted),
        "admitted, to be proxied": scope(OPEN_HOST, "/products/42", admitted),
        "queued, early refresh (page)": scope(FULL_HOST, "/products/42", queued),
    }
    return gateway, cases


def per_call_us(run: Callable[[], object], n: int) -> float:
    start = time.process_time()
    for _ in range(n):
        run()
    return (time.process_time() - start) / n * 1e6


def pieces(n: int) -> None:
    registry = CollectorRegistry()
    histogram = Histogram("h", "h", ["room", "outcome"], buckets=LATENCY_BUCKETS, registry=registry)
    child = histogram.labels("r", "admitted")
    timings = RequestTimings()
    admitted = OUTCOMES.index("admitted")
    perf = time.perf_counter_ns

    def pair() -> int:
        return perf() - perf()

    rows = (
        ("Histogram.labels(room, outcome).observe(x)", lambda: histogram.labels("r", "admitted").observe(3e-5)),
        ("cached child .observe(x)", lambda: child.observe(3e-5)),
        ("RequestTimings.record(room, outcome, ns)", lambda: timings.record("r", admitted, 30_000)),
        ("perf_counter_ns() pair", pair),
        ("(an empty lambda, the loop's own cost)", lambda: None),
    )
    print(f"{'piece (best of 5, timeit)':<46} {'ns each':>8}")
    for label, run in rows:
        best = min(timeit.repeat(run, number=n, repeat=5)) / n * 1e9
        print(f"{label:<46} {best:>8.0f}")


def handles(n: int, rounds: int) -> None:
    gateway, cases = build()
    timings = RequestTimings()
    print()
    print(f"{'Gateway.handle (CPU, median of ' + str(rounds) + ' rounds)':<46} {'off µs':>7} {'on µs':>7} {'cost':>7}")
    for label, request in cases.items():
        off: list[float] = []
        on: list[float] = []
        for _ in range(rounds):
            for setting, into in ((None, off), (timings, on)):
                gateway.timings = setting
                into.append(per_call_us(lambda request=request: gateway.handle(request), n))  # type: ignore[misc]
            timings.take()  # as the 5 s tick would
        a, b = statistics.median(off), statistics.median(on)
        print(f"{label:<46} {a:>7.2f} {b:>7.2f} {(b - a) / a:>+7.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="calls per run (default 100000)")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds per case (default 7)")
    args = parser.parse_args()
    pieces(args.n)
    handles(args.n, args.rounds)


if __name__ == "__main__":
    main()
