"""The hot-path cost of timing requests (antechamber_request_duration_seconds), with and without, side by side.

    python benchmarks/request_timing.py              # about a minute
    python benchmarks/request_timing.py --n 20000 --rounds 3   # a quick look
    python benchmarks/request_timing.py --served     # through real servers, about 3 minutes

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

``--served`` measures the same through real servers: for each front end (uvicorn
and the raw server) two gateway processes on one core (``benchmarks/gateway.py``'s
``serve-gateway``, one with ``--timings``), wrk on the other core, and in
alternating rounds (which side goes first alternates too) an admitted visitor's
forward-auth check and an admitted request proxied to an nginx origin. The ratio is
timing on ÷ off, requests per second and per CPU-second of the server, median of
the per-round ratios; the server's share of its core is shown (below 95 % the
figures are not evidence).
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


def served(seconds: int, rounds: int) -> None:
    """Timing on ÷ off through real servers, side by side (see the module docstring)."""
    import asyncio
    import contextlib
    import os
    import sys
    import tempfile
    from pathlib import Path

    import gateway as served_bench  # benchmarks/gateway.py: its servers, wrk runner and nginx origin

    python, script = sys.executable, str(Path(served_bench.__file__).resolve())
    src = str(served_bench.ROOT / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    fronts = ("uvicorn", "raw")
    load_before = served_bench.load_average()
    with tempfile.TemporaryDirectory(prefix="antechamber-timing-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        data_dir = workdir / "data"
        data_dir.mkdir()
        asyncio.run(served_bench.seed_store(data_dir))
        origin_port = served_bench.free_port()
        origin_conf = served_bench.nginx_conf(workdir, "origin", served_bench.origin_block(origin_port))
        origin_url = f"http://127.0.0.1:{origin_port}"
        on_server = ["taskset", "-c", served_bench.SERVER_CORE]
        on_client = ["taskset", "-c", served_bench.CLIENT_CORE]
        nginx = ["nginx", "-p", tmp, "-c", str(origin_conf), "-e", f"{tmp}/origin.stderr"]
        stack.enter_context(served_bench.started([*on_client, *nginx], origin_port, workdir / "origin.log"))
        bench = served_bench.Bench(workdir, seconds)
        uri = "/products/42?ref=home"
        targets: dict[tuple[str, str, str], tuple[Any, str]] = {}
        for front in fronts:
            for side in ("off", "on"):
                port = served_bench.free_port()
                timed = ["--timings"] if side == "on" else []
                command = [python, script, "serve-gateway", "--data-dir", str(data_dir), "--port", str(port),
                           "--origin", origin_url, "--front", front, *timed]  # fmt: skip
                log = workdir / f"{front}-{side}.log"
                pid = stack.enter_context(served_bench.started([*on_server, *command], port, log, env))
                cookie = served_bench.first_cookie(port, OPEN_HOST, uri)
                base = f"http://127.0.0.1:{port}"
                auth = served_bench.Target(f"{base}/.antechamber/auth", OPEN_HOST, pid, uri)
                proxied = served_bench.Target(f"{base}{uri}", OPEN_HOST, pid)
                targets[(front, "forward-auth check", side)] = (auth, cookie)
                targets[(front, "proxied to the origin", side)] = (proxied, cookie)
        for target, cookie in targets.values():  # warm-up
            bench.wrk(target, ["200", cookie], 1)
        print(f"{rounds} rounds of {seconds} s runs; load average {load_before}")
        cases = sorted({(front, case) for front, case, _ in targets})
        for r in range(rounds):
            for front, case in cases:
                for side in ("off", "on") if r % 2 == 0 else ("on", "off"):
                    target, cookie = targets[(front, case, side)]
                    bench.measure(f"{front}|{case}|{side}", f"{front}, admitted {case}, timing {side}", target,
                                  ["200", cookie])  # fmt: skip
    summary = bench.summary()
    print(f"load average {load_before} -> {served_bench.load_average()}")
    head = f"{'admitted request, front end':<40} {'off req/s':>9} {'on req/s':>9} {'on÷off':>7} {'per cpu-s':>9}"
    print(f"\n{head} {'(quartiles)':>13} {'server cpu':>10} {'unexpected':>10}")
    pooled: list[float] = []
    for front, case in cases:
        off, on = f"{front}|{case}|off", f"{front}|{case}|on"
        by_rps = statistics.median(bench.paired(on, off))
        each = bench.paired_cpu(on, off)
        pooled += each
        by_cpu = statistics.median(each)
        low, _, high = statistics.quantiles(each, n=4) if len(each) > 1 else (by_cpu, by_cpu, by_cpu)
        share = min(r.server_cpu_s / r.wall_s for key in (off, on) for r in bench.runs[key])
        odd = summary[off]["unexpected"] + summary[on]["unexpected"]
        print(
            f"{case + ', ' + front:<40} {summary[off]['rps']:>9.0f} {summary[on]['rps']:>9.0f} {by_rps:>7.3f}"
            f" {by_cpu:>9.3f} {low:>6.3f}-{high:.3f} {share:>9.0%}+ {odd:>10}"
        )
    print(f"all four, per cpu-s: median on÷off {statistics.median(pooled):.3f} over {len(pooled)} rounds")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="calls per run (default 100000)")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds per case (default 7)")
    parser.add_argument("--served", action="store_true", help="through real servers, with wrk (see above)")
    parser.add_argument("--seconds", type=int, default=3, help="--served: seconds per wrk run (default 3)")
    args = parser.parse_args()
    if args.served:
        served(args.seconds, args.rounds)
        return
    pieces(args.n)
    handles(args.n, args.rounds)


if __name__ == "__main__":
    main()
