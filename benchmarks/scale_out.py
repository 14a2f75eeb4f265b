"""Scale-out benchmark: gateway throughput with 1 and 2 workers on Redis, and Redis commands per request.

    python benchmarks/scale_out.py                  # about 2 minutes, prints the tables
    python benchmarks/scale_out.py --seconds 20     # longer runs
    python benchmarks/scale_out.py --json out.json  # also write the numbers

Loopback only; run it on an otherwise idle machine (it prints the load average and
the CPU share the gateway processes got). For each worker count it starts a private
``redis-server`` and ``antechamber serve --state redis://… --workers N`` (raw front end,
SQLite config store), creates two rooms through the API (an open one with limits far
above the load, and one under ``queue_all``), and drives the forward-auth endpoint with
``wrk -t1 -c64`` for each kind of visitor:

- ``admitted``: a visitor with a valid session cookie (the bulk of a site's requests);
- ``queued``: a queued visitor refreshing with its cookie;
- ``new (queued)``: a request without a cookie to the queue-all room (a newcomer joins the line);
- ``new (admitted)``: a request without a cookie to the open room (a newcomer is let in).

Redis commands are counted on the server (``INFO commandstats``, every command but the
benchmark's own ``INFO``), so the figure includes the nodes' once-a-second syncs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from antechamber.sim.nodes import private_redis

ROOT = Path(__file__).resolve().parents[1]
OPEN_HOST = "open.example.com"
QUEUE_HOST = "queue.example.com"
AUTH = "/.antechamber/auth"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on {port}")


def antechamber(*args: str) -> list[str]:
    return [sys.executable, "-c", "from antechamber.cli import main; main()", *args]


#: What a node sends itself; ``INFO commandstats`` also counts the commands a script runs inside.
CLIENT_COMMANDS = {"evalsha", "eval", "script|load", "script|exists", "hello", "ping", "select", "client|setinfo"}


def redis_calls(port: int) -> int:
    """Commands clients sent the server so far (scripts count once; this benchmark's INFO not at all)."""
    out = subprocess.run(
        ["redis-cli", "-p", str(port), "INFO", "commandstats"], capture_output=True, text=True, check=True
    ).stdout
    return sum(
        int(calls) for name, calls in re.findall(r"cmdstat_([\w|]+):calls=(\d+)", out) if name in CLIENT_COMMANDS
    )


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
    return found


@dataclass
class Run:
    workers: int
    kind: str
    requests_per_s: float
    requests: int
    redis_commands: int
    commands_per_request: float
    #: CPU seconds the gateway workers used per wall second, summed, and per worker.
    server_cpu: float
    p50_ms: float
    p99_ms: float
    non_2xx: int


def wrk(port: int, headers: dict[str, str], seconds: int) -> tuple[float, int, float, float, int]:
    args = ["wrk", "-t1", "-c64", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, f"http://127.0.0.1:{port}{AUTH}"], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def pct(label: str) -> float:
        m = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        assert m is not None
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    return rate, total, pct("50"), pct("99"), int(non2xx.group(1)) if non2xx else 0


def cookie_of(response: httpx.Response) -> str:
    for value in response.headers.get_list("set-cookie"):
        if value.startswith("__cfwaitingroom"):
            return value.split(";", 1)[0]
    raise AssertionError(f"no room cookie: {response.status_code} {response.headers}")


def measure(workers: int, seconds: int) -> list[Run]:
    runs: list[Run] = []
    with private_redis() as redis_url, tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
        data = ["--data-dir", tmp]

        def cli(*args: str) -> str:
            return subprocess.run(antechamber(*args, *data), capture_output=True, text=True, check=True).stdout

        zone = json.loads(cli("zones", "create", "example.com", "--json"))["id"]
        token = json.loads(cli("tokens", "create", "--scope", "write", "--json"))["token"]
        api, gateway = free_port(), free_port()
        serve = subprocess.Popen(
            antechamber(
                "serve",
                *data,
                "--api",
                f"127.0.0.1:{api}",
                "--gateway",
                f"127.0.0.1:{gateway}",
                "--state",
                redis_url,
                "--workers",
                str(workers),
                "--gateway-server",
                "raw",
                "--log-level",
                "warning",
            )
        )
        try:
            wait_for(api)
            wait_for(gateway)
            rooms = f"http://127.0.0.1:{api}/client/v4/zones/{zone}/waiting_rooms"
            auth = {"authorization": f"Bearer {token}"}
            big = 2_000_000_000
            for host, extra in ((OPEN_HOST, {}), (QUEUE_HOST, {"queue_all": True})):
                body = {
                    "name": host.split(".")[0],
                    "host": host,
                    "total_active_users": big,
                    "new_users_per_minute": big,
                    "session_duration": 30,
                    **extra,
                }
                httpx.post(rooms, json=body, headers=auth, timeout=10).raise_for_status()
            time.sleep(2.5)
            base = f"http://127.0.0.1:{gateway}{AUTH}"
            admitted = cookie_of(httpx.get(base, headers={"x-forwarded-host": OPEN_HOST}, timeout=10))
            queued = cookie_of(httpx.get(base, headers={"x-forwarded-host": QUEUE_HOST}, timeout=10))
            pids = children(serve.pid) or [serve.pid]
            kinds = {
                "admitted": {"x-forwarded-host": OPEN_HOST, "cookie": admitted},
                "queued": {"x-forwarded-host": QUEUE_HOST, "cookie": queued},
                "new (queued)": {"x-forwarded-host": QUEUE_HOST},
                "new (admitted)": {"x-forwarded-host": OPEN_HOST},
            }
            for kind, headers in kinds.items():
                wrk(gateway, headers, 2)  # warm-up
                calls, cpu, t0 = redis_calls(redis_port), cpu_seconds(pids), time.monotonic()
                rate, total, p50, p99, non2xx = wrk(gateway, headers, seconds)
                wall = time.monotonic() - t0
                time.sleep(1.2)  # the last sync of the run
                commands = redis_calls(redis_port) - calls
                runs.append(
                    Run(
                        workers,
                        kind,
                        rate,
                        total,
                        commands,
                        commands / total,
                        (cpu_seconds(pids) - cpu) / wall,
                        p50,
                        p99,
                        non2xx,
                    )
                )
        finally:
            serve.terminate()
            serve.wait(30)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    load_before = os.getloadavg()
    runs = [run for workers in (1, 2) for run in measure(workers, args.seconds)]
    load_after = os.getloadavg()
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min); {os.cpu_count()} cores")
    print(
        f"{'workers':>7} {'visitor':>15} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'CPU':>5} "
        f"{'req/CPU-s':>9} {'Redis cmds':>10} {'per request':>12} {'non-2xx':>8}"
    )
    for r in runs:
        print(
            f"{r.workers:>7} {r.kind:>15} {r.requests_per_s:>9.0f} {r.p50_ms:>7.2f} {r.p99_ms:>7.2f} "
            f"{r.server_cpu:>5.2f} {r.requests_per_s / max(r.server_cpu, 1e-9):>9.0f} {r.redis_commands:>10} "
            f"{r.commands_per_request:>12.6f} {r.non_2xx:>8}"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"load": [load_before, load_after], "runs": [asdict(r) for r in runs]}, indent=2)
        )


if __name__ == "__main__":
    main()
