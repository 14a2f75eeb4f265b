"""The nginx fast path (docs/FORWARD_AUTH.md) against nginx ``proxy_pass`` alone, side by side.

    python benchmarks/nginx_fast_path.py                    # 10 rounds of 3 s, about 2 minutes
    python benchmarks/nginx_fast_path.py --rounds 4 --seconds 2

Issue 10's target: admitted visitors' requests through the fast path (nginx keeps the
gateway's auth answer for an admitted visitor for up to a second) reach at least 0.6 x
the rate of nginx ``proxy_pass`` alone to the same origin. Both nginx workers, and the
gateway (raw front end) the fast path asks, are pinned to core 0; wrk and the origin
(nginx) are on core 1. The rounds alternate (proxy_pass, fast path, auth_request without
the cache), and each ratio is the median of the per-round ratios, two ways: requests per
second as wrk saw them, and requests per CPU-second of what served them (the fast path's
nginx worker plus the gateway, on the same core; proxy_pass's worker), which still holds
when wrk, sharing core 1 with the origin, cannot keep proxy_pass's worker busy. wrk
sends one admitted cookie on all 64 connections, the worst case for the cache (every
expiry is a burst of misses).

The servers come from ``benchmarks/gateway.py`` (its nginx configurations, gateway and
wrk runner), so the two benchmarks measure the same things.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
from pathlib import Path

import gateway as bench  # benchmarks/gateway.py


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="alternating rounds (default 10)")
    parser.add_argument("--seconds", type=int, default=3, help="seconds per wrk run (default 3)")
    args = parser.parse_args()
    python, script = sys.executable, str(Path(bench.__file__).resolve())
    env = {**os.environ, "PYTHONPATH": str(bench.ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    on_server = ["taskset", "-c", bench.SERVER_CORE]
    on_client = ["taskset", "-c", bench.CLIENT_CORE]
    load_before = bench.load_average()
    with tempfile.TemporaryDirectory(prefix="antechamber-fast-path-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        data_dir = workdir / "data"
        data_dir.mkdir()
        asyncio.run(bench.seed_store(data_dir))
        ports = {name: bench.free_port() for name in ("origin", "proxy", "auth", "fast", "gateway")}
        confs = {
            "origin": bench.origin_block(ports["origin"]),
            "proxy": bench.proxy_block(ports["proxy"], ports["origin"]),
            "auth": bench.auth_proxy_block(ports["auth"], ports["origin"], ports["gateway"]),
            "fast": bench.auth_proxy_block(ports["fast"], ports["origin"], ports["gateway"], workdir / "auth-cache"),
        }
        pids: dict[str, int] = {}
        for name, block in confs.items():
            conf = bench.nginx_conf(workdir, name, block)
            command = ["nginx", "-p", tmp, "-c", str(conf), "-e", f"{tmp}/{name}.stderr"]
            where = on_client if name == "origin" else on_server
            pids[name] = stack.enter_context(bench.started([*where, *command], ports[name], workdir / f"{name}.log"))
        origin = f"http://127.0.0.1:{ports['origin']}"
        gateway_command = [python, script, "serve-gateway", "--data-dir", str(data_dir), "--port",
                           str(ports["gateway"]), "--origin", origin, "--front", "raw"]  # fmt: skip
        gateway_pid = stack.enter_context(
            bench.started([*on_server, *gateway_command], ports["gateway"], workdir / "gateway.log", env)
        )
        uri = "/products/42?ref=home"
        cookie = bench.first_cookie(ports["gateway"], bench.OPEN_HOST, uri)
        runner = bench.Bench(workdir, args.seconds)
        targets = {
            name: bench.Target(f"http://127.0.0.1:{ports[name]}{uri}", bench.OPEN_HOST, pids[name])
            for name in ("proxy", "fast", "auth")
        }
        labels = {
            "proxy": "nginx proxy_pass to the origin",
            "fast": "fast path: auth_request, answer kept 1 s",
            "auth": "auth_request, every request asks the gateway",
        }
        for target in targets.values():
            runner.wrk(target, ["200", cookie], 1)
        print(f"{args.rounds} rounds of {args.seconds} s runs; load average {load_before}")
        gateway_cpu: list[float] = []  # CPU seconds the gateway spent in each fast-path run
        for _ in range(args.rounds):
            for name, target in targets.items():
                before = bench.cpu_seconds(gateway_pid)
                runner.measure(name, labels[name], target, ["200", cookie])
                if name == "fast":
                    gateway_cpu.append(bench.cpu_seconds(gateway_pid) - before)
    summary = runner.summary()
    print(f"load average {load_before} -> {bench.load_average()}\n")
    print(f"{'run (median of rounds)':<48} {'req/s':>7} {'nginx cpu':>9} {'p50 ms':>7} {'p99 ms':>7} {'odd':>4}")
    for key in targets:
        r = summary[key]
        print(
            f"{r['name']:<48} {r['rps']:>7.0f} {r['cpu_share']:>9.0%} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f}"
            f" {r['unexpected']:>4}"
        )
    each = runner.paired("fast", "proxy")
    fast_runs, proxy_runs = runner.runs["fast"], runner.runs["proxy"]
    share = statistics.median(cpu / run.wall_s for cpu, run in zip(gateway_cpu, fast_runs, strict=True))
    # Per CPU-second of everything that served it: the fast path's nginx worker and the gateway,
    # against proxy_pass's worker (immune to wrk, on the other core, being the bottleneck).
    by_cpu = [
        (fast.requests / (fast.server_cpu_s + cpu)) / (proxy.requests / proxy.server_cpu_s)
        for fast, cpu, proxy in zip(fast_runs, gateway_cpu, proxy_runs, strict=True)
    ]
    print(f"\nthe gateway's share of core 0 during the fast-path runs: median {share:.1%}")
    for name, values in (("req/s", each), ("per CPU-second (nginx + gateway)", by_cpu)):
        median = statistics.median(values)
        low, _, high = statistics.quantiles(values, n=4)
        print(f"fast path ÷ proxy_pass, {name}: median {median:.3f} (quartiles {low:.3f}-{high:.3f}); "
              f"target >= 0.6: {'met' if median >= 0.6 else 'MISSED'}")  # fmt: skip
    print(f"auth_request without the cache ÷ proxy_pass: {statistics.median(runner.paired('auth', 'proxy')):.3f}")
    print("per round (fast ÷ proxy): " + ", ".join(f"{v:.3f}" for v in each))


if __name__ == "__main__":
    main()
