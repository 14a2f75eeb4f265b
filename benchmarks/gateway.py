"""Gateway benchmark: the DESIGN section 5 ratios, measured side by side in one run.

    python benchmarks/gateway.py                   # about 110 s, prints the table
    python benchmarks/gateway.py --rounds 6        # more rounds (each adds about 25 s)
    python benchmarks/gateway.py --json out.json   # also write the numbers
    python benchmarks/gateway.py --server granian  # granian for the hello and the gateway
    python benchmarks/gateway.py --server raw      # the gateway on its raw HTTP/1.1 server
    python benchmarks/gateway.py --timings         # the gateway timing its requests, as ``serve`` does
    python benchmarks/gateway.py --server raw --state redis://127.0.0.1:6379/0   # on the Redis backend

Loopback only. Every server under test is pinned to core 0 (``taskset``); wrk and
the origin share core 1. Each run is ``wrk -t1 -c64``, after one warm-up. The
same wrk Lua script (cookie, ``X-Forwarded-*`` headers, a response callback that
takes a renewed cookie) drives the baseline and the gateway, so the client-side
cost is the same on both sides of every ratio.

Ratios (targets from issue 10, which tightened DESIGN.md section 5):

(a) admitted visitor's forward-auth check ÷ a bare ASGI "hello", same server
    (uvicorn with uvloop + httptools, or granian), same core: target ≥ 0.9 (and
    with ``--server raw``, ≥ 0.6 × the raw server's own fixed-reply hello)
(b) admitted visitor proxied to the origin ÷ nginx ``proxy_pass`` to the same
    origin, one worker each: target ≥ 0.25 (through nginx's fast path: ≥ 0.6)
(c) queued visitor's counted refresh (a state write) ÷ (a)'s forward-auth rate:
    target ≥ 0.5 (a new visitor joining the queue too). Refreshes sooner than
    20 s after the last counted one are not counted (no state write), so the
    counted-refresh run replays, once each, cookies issued more than 20 s
    earlier by the new-arrival run.

And the tail: an admitted visitor's p99 within 4 × its p50 in every round.

Every comparison runs in alternating rounds (baseline, candidate, baseline, ...),
and each ratio is the median of the per-round ratios, so a change in the
machine's load hits both sides. Two ratios are reported for each comparison:
requests per second as wrk saw them, and requests per second of the server's
own CPU time (all its threads, from ``/proc/<pid>/task/*/schedstat``). On a
machine where the server owns its core the two agree; on a shared machine
(other processes on core 0) only the second one still means "same core".

The servers are started as subprocesses of this script (``serve-gateway`` and
``serve-hello`` are its internal subcommands; nginx runs with
``master_process off`` so the measured pid is the worker) and stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SERVER_CORE = "0"
CLIENT_CORE = "1"
CONNECTIONS = 64
OPEN_HOST = "shop.example.com"
QUEUE_HOST = "queue.example.com"
ORIGIN_BODY = "<!doctype html><title>shop</title><p>" + "x" * 60 + "</p>\n"  # about 100 bytes
#: A counted refresh needs 20 s since the last counted one (REFRESH_INTERVAL_S), plus slack.
COUNTED_AFTER_S = 21.0


# --- the servers ---------------------------------------------------------------------------


async def hello_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The bare ASGI baseline: fixed 13 bytes, no work."""
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"13")],
        }
    )
    await send({"type": "http.response.body", "body": b"Hello, world!"})


def uvicorn_config(app: Any, port: int) -> Any:
    """The same uvicorn settings for the baseline and the gateway: uvloop, httptools, no logs."""
    import uvicorn

    return uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level="warning",
        proxy_headers=False,
    )


async def _lifespan(receive: Any, send: Any, on_startup: Any = None, on_shutdown: Any = None) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if on_startup is not None:
                await on_startup()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if on_shutdown is not None:
                await on_shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


class GatewayApp:
    """The gateway, built at ASGI lifespan start-up inside the server's own event loop.

    For granian, which imports the app by name: the store and origin come from the
    environment (``BENCH_DATA_DIR``, ``BENCH_ORIGIN``).
    """

    def __init__(self) -> None:
        self.app: Any = None
        self.closers: list[Any] = []

    async def start(self) -> None:
        from antechamber.core.cookie import CookieCodec
        from antechamber.db.engine import Database, sqlite_url
        from antechamber.gateway.app import create_gateway
        from antechamber.gateway.follower import ConfigFollower
        from antechamber.gateway.upstream import UpstreamPool
        from antechamber.keystore import load_or_create_keys
        from antechamber.state.memory import MemoryState

        data_dir = Path(os.environ["BENCH_DATA_DIR"])
        database = Database(sqlite_url(data_dir))
        follower = ConfigFollower(database)
        await follower.start()
        codec = CookieCodec(load_or_create_keys(data_dir))
        self.app = create_gateway(
            follower, MemoryState(), codec, UpstreamPool(), default_origin=os.environ["BENCH_ORIGIN"]
        )
        self.closers = [follower.aclose, self.app.aclose, database.dispose]

    async def stop(self) -> None:
        for close in self.closers:
            await close()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send, self.start, self.stop)
        else:
            await self.app(scope, receive, send)


gateway_app = GatewayApp()


def granian_command(target: str, port: int) -> list[str]:
    """granian with the settings stack.md measured: one worker, single-threaded runtime, uvloop."""
    return [
        *(sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port)),
        *("--workers", "1", "--runtime-mode", "st", "--loop", "uvloop", "--http", "1", "--no-ws"),
        *("--log-level", "warning", "--no-access-log", "--working-dir", str(Path(__file__).parent), target),
    ]


def serve_hello(port: int) -> None:
    import uvicorn

    uvicorn.Server(uvicorn_config(hello_app, port)).run()


def serve_hello_raw(port: int) -> None:
    """The raw server's own baseline: the same fixed 13 bytes, no gateway work, no ASGI."""
    import uvloop

    from antechamber.gateway.pages import Reply
    from antechamber.gateway.raw import start_raw_server

    hello = Reply(200, b"Hello, world!", [(b"content-type", b"text/plain")])

    async def run() -> None:
        server = await start_raw_server(lambda scope: hello, "127.0.0.1", port)
        await server.serve_forever()

    uvloop.run(run())


def serve_gateway(
    data_dir: Path, port: int, origin: str, front: str = "uvicorn", timings: bool = False, state_url: str = "memory"
) -> None:
    import uvicorn
    import uvloop

    from antechamber.core.cookie import CookieCodec
    from antechamber.db.engine import Database, sqlite_url
    from antechamber.gateway.app import create_gateway
    from antechamber.gateway.follower import ConfigFollower
    from antechamber.gateway.upstream import UpstreamPool
    from antechamber.keystore import load_or_create_keys
    from antechamber.state.base import RoomState
    from antechamber.state.factory import open_state
    from antechamber.state.memory import MemoryState

    async def run() -> None:
        database = Database(sqlite_url(data_dir))
        follower = ConfigFollower(database)
        await follower.start()
        codec = CookieCodec(load_or_create_keys(data_dir))
        # memory: no state file (nothing to save between runs); a Redis URL: the backend as `serve` opens it.
        state: RoomState = MemoryState() if state_url == "memory" else open_state(state_url, data_dir=data_dir)
        app = create_gateway(follower, state, codec, UpstreamPool(), default_origin=origin)
        if state_url != "memory":
            from antechamber.state.redis import RedisState

            assert isinstance(state, RedisState)
            state.bind(app.admission.config_of)  # its share of the free slots, as `serve` does
        await state.start()
        if timings:  # as `antechamber serve` does (the tally is never handed over here: it only grows)
            from antechamber.gateway.timing import RequestTimings

            app.timings = RequestTimings()
        try:
            if front == "raw":
                from antechamber.gateway.raw import serve_gateway_raw

                await (await serve_gateway_raw(app, "127.0.0.1", port)).serve_forever()
            else:
                await uvicorn.Server(uvicorn_config(app, port)).serve()
        finally:
            await follower.aclose()
            await app.aclose()
            await state.aclose()
            await database.dispose()

    uvloop.run(run())


async def seed_store(data_dir: Path) -> None:
    """Two rooms at the API's smallest limits (200/200): one to be admitted to, one that queues."""
    from antechamber.api.models.room import RoomInput
    from antechamber.api.room_checks import check_room
    from antechamber.db import accounts, rooms
    from antechamber.db.engine import Database, sqlite_url
    from antechamber.db.ids import format_timestamp, new_id, utc_now
    from antechamber.db.rooms import StoredRoom

    database = Database(sqlite_url(data_dir))
    try:
        await database.migrate()
        async with database.begin() as connection:
            zone = await accounts.create_zone(connection, "example.com")
            stamp = format_timestamp(utc_now())
            for name, host in (("open", OPEN_HOST), ("busy", QUEUE_HOST)):
                body = RoomInput.model_validate(
                    {"host": host, "name": name, "new_users_per_minute": 200, "total_active_users": 200}
                ).model_dump(mode="json")
                room = StoredRoom(new_id(), zone.id, body, stamp, stamp)
                await rooms.insert_room(connection, room, check_room(body, zone))
    finally:
        await database.dispose()


def nginx_conf(workdir: Path, name: str, server_block: str) -> Path:
    """A one-worker nginx.conf with every path in ``workdir``; no access log."""
    conf = workdir / f"{name}.conf"
    conf.write_text(
        f"""daemon off;
master_process off;
worker_processes 1;
pid {workdir}/{name}.pid;
error_log {workdir}/{name}.error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {workdir}/{name}_body;
    proxy_temp_path {workdir}/{name}_proxy;
    fastcgi_temp_path {workdir}/{name}_fastcgi;
    uwsgi_temp_path {workdir}/{name}_uwsgi;
    scgi_temp_path {workdir}/{name}_scgi;
    keepalive_requests 1000000;
    keepalive_timeout 65;
{server_block}
}}
"""
    )
    return conf


def origin_block(port: int) -> str:
    body = ORIGIN_BODY.replace("\n", "\\n")
    return f"""    server {{
        listen 127.0.0.1:{port};
        location / {{ default_type text/html; return 200 "{body}"; }}
    }}"""


def proxy_block(port: int, origin_port: int) -> str:
    return f"""    upstream origin {{ server 127.0.0.1:{origin_port}; keepalive 128; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}"""


#: The nginx setup docs/FORWARD_AUTH.md ships, which the auth-proxy runs measure as it is.
NGINX_EXAMPLE = ROOT / "docs" / "examples" / "nginx" / "antechamber.conf"
#: What the fast path adds to it (the lines dropped to measure ``auth_request`` without it).
NGINX_CACHE_LINES = ("proxy_cache antechamber_auth;", 'proxy_cache_key "$host $http_cookie";')


def auth_proxy_block(port: int, origin_port: int, gateway_port: int, cache: Path | None = None) -> str:
    """nginx in front with ``auth_request`` to the gateway: docs/examples/nginx/antechamber.conf, addresses replaced.

    ``cache``: with the example's fast path (the admitted visitor's auth answer kept for a
    second) in this directory; without it, the example's cache lines are dropped.
    """
    replacements = {
        "127.0.0.1:8000": f"127.0.0.1:{gateway_port}",
        "127.0.0.1:3000": f"127.0.0.1:{origin_port}",
        "listen 80;": f"listen 127.0.0.1:{port};",
        "/var/cache/nginx/antechamber": str(cache) if cache is not None else "/nonexistent",
    }
    text = NGINX_EXAMPLE.read_text(encoding="utf-8")
    for old, new in replacements.items():
        if old not in text:  # the example changed: fail loudly rather than measure something else
            raise SystemExit(f"{old!r} no longer occurs in {NGINX_EXAMPLE}")
        text = text.replace(old, new)
    if cache is None:
        for line in NGINX_CACHE_LINES:
            text = text.replace(line, "")
        text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("proxy_cache_path",
                          "max_size=")))  # fmt: skip
    return text


# --- wrk -----------------------------------------------------------------------------------

# One script for every run. Arguments after "--": expected status, then either a cookie
# ("name=value", or "-" for none) or "@file" to send each cookie of the file once, in
# order, then an optional "@file" to append every issued cookie to (one per line).
LUA = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end

local want, cookies, next_cookie, out, req, follow
unexpected, renewed, wrapped = 0, 0, 0

local function build(cookie)
  if cookie then wrk.headers["Cookie"] = cookie else wrk.headers["Cookie"] = nil end
  return wrk.format()
end

function init(args)
  want = tonumber(args[1])
  local source = args[2]
  if source:sub(1, 1) == "@" then
    cookies = {}
    for line in io.lines(source:sub(2)) do table.insert(cookies, line) end
    next_cookie = 1
  elseif source ~= "-" then
    req = build(source)
    follow = true
  else
    req = build(nil)
  end
  if args[3] then
    out = io.open(args[3]:sub(2), "a")
    out:setvbuf("line")
  end
end

function request()
  if cookies then
    local c = cookies[next_cookie]
    next_cookie = next_cookie + 1
    if next_cookie > #cookies then next_cookie = 1; wrapped = wrapped + 1 end
    return build(c)
  end
  return req
end

function response(status, headers, body)
  if status ~= want then unexpected = unexpected + 1 end
  local c = headers["set-cookie"] or headers["Set-Cookie"]
  if c and c:sub(1, 16) == "__cfwaitingroom=" then
    c = c:match("^[^;]+")
    if out then out:write(c, "\n")
    elseif follow then renewed = renewed + 1; req = build(c) end
  end
end

function done(summary, latency, requests)
  local t = threads[1]
  io.write(string.format("LUA unexpected=%d renewed=%d wrapped=%d\n",
    t:get("unexpected"), t:get("renewed"), t:get("wrapped")))
end
"""


@dataclass
class Result:
    """One wrk run."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    #: CPU time the server process (all its threads) used during the run.
    server_cpu_s: float
    wall_s: float
    unexpected: int
    renewed: int
    wrapped: int
    errors: str


def _ms(text: str) -> float:
    value = float(re.match(r"[\d.]+", text).group(0))  # type: ignore[union-attr]
    if text.endswith("us"):
        return value / 1000
    if text.endswith("ms"):
        return value
    if text.endswith("s"):
        return value * 1000
    return value


def parse_wrk(output: str, server_cpu_s: float, wall_s: float) -> Result:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"^\s+50%\s+([\d.]+(?:us|ms|s))", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+(?:us|ms|s))", output, re.MULTILINE)
    lua = re.search(r"LUA unexpected=(\d+) renewed=(\d+) wrapped=(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    return Result(
        rps=rps,
        p50_ms=_ms(p50.group(1)) if p50 else 0.0,
        p99_ms=_ms(p99.group(1)) if p99 else 0.0,
        requests=requests,
        server_cpu_s=server_cpu_s,
        wall_s=wall_s,
        unexpected=int(lua.group(1)) if lua else -1,
        renewed=int(lua.group(2)) if lua else -1,
        wrapped=int(lua.group(3)) if lua else -1,
        errors=errors.group(0) if errors else "",
    )


@dataclass(frozen=True)
class Target:
    """Where a run sends its requests: URL, Host, and (forward-auth) the described request."""

    url: str
    host: str
    #: The server process answering (its CPU time is sampled around each run).
    pid: int
    forwarded_uri: str | None = None


class Bench:
    """Runs wrk (pinned to the client core) and keeps every run's result under a key."""

    def __init__(self, workdir: Path, seconds: int) -> None:
        self.seconds = seconds
        self.script = workdir / "bench.lua"
        self.script.write_text(LUA)
        self.names: dict[str, str] = {}
        self.runs: dict[str, list[Result]] = {}

    def wrk(self, target: Target, args: Sequence[str], seconds: int) -> Result:
        headers = ["-H", f"Host: {target.host}", "-H", "Accept: text/html"]
        if target.forwarded_uri is not None:
            for name, value in (
                ("X-Forwarded-Host", target.host),
                ("X-Forwarded-Uri", target.forwarded_uri),
                ("X-Forwarded-Proto", "https"),
                ("X-Forwarded-Method", "GET"),
                ("X-Forwarded-For", "203.0.113.9"),
            ):
                headers += ["-H", f"{name}: {value}"]
        command = [
            *("taskset", "-c", CLIENT_CORE, "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{max(1, seconds)}s"),
            *("--latency", "--timeout", "5s", *headers, "-s", str(self.script), target.url, "--", *args),
        ]
        cpu_before, wall_before = cpu_seconds(target.pid), time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        cpu, wall = cpu_seconds(target.pid) - cpu_before, time.monotonic() - wall_before
        try:
            return parse_wrk(done.stdout, cpu, wall)
        except (AttributeError, ValueError):
            raise RuntimeError(f"unexpected wrk output:\n{done.stdout}\n{done.stderr}") from None

    def measure(self, key: str, name: str, target: Target, args: Sequence[str], seconds: int | None = None) -> Result:
        result = self.wrk(target, args, seconds or self.seconds)
        self.names[key] = name
        self.runs.setdefault(key, []).append(result)
        return result

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per key: the median of each figure over its rounds, the sums of the odd responses."""
        out: dict[str, dict[str, Any]] = {}
        for key, runs in self.runs.items():
            out[key] = {
                "name": self.names[key],
                "rounds": len(runs),
                "rps": statistics.median(r.rps for r in runs),
                "per_cpu_s": statistics.median(per_cpu_second(r) for r in runs),
                "cpu_share": statistics.median(r.server_cpu_s / r.wall_s for r in runs),
                "rps_each": [round(r.rps) for r in runs],
                "p50_ms": statistics.median(r.p50_ms for r in runs),
                "p99_ms": statistics.median(r.p99_ms for r in runs),
                "p50_each": [r.p50_ms for r in runs],
                "p99_each": [r.p99_ms for r in runs],
                "requests": sum(r.requests for r in runs),
                "unexpected": sum(r.unexpected for r in runs),
                "renewed": sum(r.renewed for r in runs),
                "wrapped": sum(r.wrapped for r in runs),
                "errors": sorted({r.errors for r in runs if r.errors}),
            }
        return out

    def paired(self, candidate: str, baseline: str) -> list[float]:
        """Per-round ratios of two runs made next to each other (requests per second)."""
        return [c.rps / b.rps for c, b in zip(self.runs[candidate], self.runs[baseline], strict=True)]

    def paired_cpu(self, candidate: str, baseline: str) -> list[float]:
        """Per-round ratios of requests per CPU-second of the server process."""
        pairs = zip(self.runs[candidate], self.runs[baseline], strict=True)
        return [per_cpu_second(c) / per_cpu_second(b) for c, b in pairs]


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (granian serves from a worker process under its supervisor)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
    return found


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by every thread of ``pid`` and its children (scheduler accounting, ns)."""
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{member}/task").iterdir():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


def per_cpu_second(result: Result) -> float:
    """Requests answered per second of the server's own CPU time."""
    return result.requests / result.server_cpu_s if result.server_cpu_s > 0 else 0.0


# --- orchestration -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on {port}")


@contextlib.contextmanager
def started(command: list[str], port: int, log: Path, env: dict[str, str] | None = None) -> Iterator[int]:
    """Start a server (``taskset`` execs it, so the pid is the server's own); yield the pid."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for(port, process)
        yield process.pid
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def first_cookie(port: int, host: str, forwarded_uri: str) -> str:
    """A fresh admitted cookie for the open room, from one forward-auth request."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request(
        "GET",
        "/.antechamber/auth",
        headers={"Host": host, "X-Forwarded-Host": host, "X-Forwarded-Uri": forwarded_uri},
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    cookie = response.getheader("set-cookie") or ""
    if response.status != 200 or not cookie.startswith("__cfwaitingroom="):
        raise RuntimeError(f"no admitted cookie: {response.status} {cookie!r}")
    return cookie.split(";", 1)[0]


def machine() -> str:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu}, {os.cpu_count()} vCPU, Linux {platform.release()}, Python {platform.python_version()}"


def versions(server: str) -> dict[str, str]:
    from importlib.metadata import version

    names = ("granian", "uvloop") if server == "granian" else ("uvicorn", "uvloop", "httptools")
    # (--server raw: the gateway on httptools + uvloop, the baseline hello on uvicorn)
    found = {name: version(name) for name in names}
    nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True)
    found["nginx"] = nginx.stderr.strip().split("/")[-1]
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    found["wrk"] = (wrk.stdout + wrk.stderr).split()[1]
    return found


def load_average() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "?"


def run_all(seconds: int, rounds: int, server: str, timings: bool = False, state: str = "memory") -> dict[str, Any]:
    for binary in ("nginx", "wrk", "taskset"):
        if shutil.which(binary) is None and not Path("/usr/sbin", binary).exists():
            raise SystemExit(f"{binary} is required (Debian: nginx, wrk, util-linux)")
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("two cores are needed: the server on core 0, wrk and the origin on core 1")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    python = sys.executable
    me = str(Path(__file__).resolve())
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if server == "granian" and importlib.util.find_spec("granian") is None:
        raise SystemExit("granian is not installed (pip install granian)")
    load_before = load_average()
    started_at = time.monotonic()

    with tempfile.TemporaryDirectory(prefix="antechamber-bench-") as tmp:
        workdir = Path(tmp)
        data_dir = workdir / "data"
        data_dir.mkdir()
        asyncio.run(seed_store(data_dir))
        names = ("origin", "proxy", "auth_proxy", "auth_cached", "hello", "hello_raw", "gateway")
        ports = {name: free_port() for name in names}
        origin_url = f"http://127.0.0.1:{ports['origin']}"
        env.update(BENCH_DATA_DIR=str(data_dir), BENCH_ORIGIN=origin_url)
        server_label = "granian, uvloop" if server == "granian" else "uvicorn, uvloop, httptools"
        raw = server == "raw"
        # --server raw: the gateway runs on its raw server; the DESIGN baseline stays the ASGI
        # hello on uvicorn, and the raw server's own hello is measured next to it.
        hello_raw_command = [python, me, "serve-hello-raw", "--port", str(ports["hello_raw"])]
        if server == "granian":
            hello_command = granian_command("gateway:hello_app", ports["hello"])
            gateway_command = granian_command("gateway:gateway_app", ports["gateway"])
        else:
            hello_command = [python, me, "serve-hello", "--port", str(ports["hello"])]
            gateway_command = [python, me, "serve-gateway", "--data-dir", str(data_dir),
                               "--port", str(ports["gateway"]), "--origin", origin_url,
                               "--front", "raw" if raw else "uvicorn", "--state", state,
                               *(["--timings"] if timings else [])]  # fmt: skip
        origin_conf = nginx_conf(workdir, "origin", origin_block(ports["origin"]))
        proxy_conf = nginx_conf(workdir, "proxy", proxy_block(ports["proxy"], ports["origin"]))
        auth_proxy_conf = nginx_conf(
            workdir, "auth_proxy", auth_proxy_block(ports["auth_proxy"], ports["origin"], ports["gateway"])
        )
        cached_block = auth_proxy_block(ports["auth_cached"], ports["origin"], ports["gateway"], workdir / "auth-cache")
        auth_cached_conf = nginx_conf(workdir, "auth_cached", cached_block)
        on_server = ["taskset", "-c", SERVER_CORE]
        on_client = ["taskset", "-c", CLIENT_CORE]
        with (
            started([*on_client, nginx, "-p", tmp, "-c", str(origin_conf), "-e", f"{tmp}/origin.stderr"],
                    ports["origin"], workdir / "origin.log"),
            started([*on_server, nginx, "-p", tmp, "-c", str(proxy_conf), "-e", f"{tmp}/proxy.stderr"],
                    ports["proxy"], workdir / "proxy.log") as proxy_pid,
            started([*on_server, nginx, "-p", tmp, "-c", str(auth_proxy_conf), "-e", f"{tmp}/auth_proxy.stderr"],
                    ports["auth_proxy"], workdir / "auth_proxy.log") as auth_proxy_pid,
            started([*on_server, nginx, "-p", tmp, "-c", str(auth_cached_conf), "-e", f"{tmp}/auth_cached.stderr"],
                    ports["auth_cached"], workdir / "auth_cached.log") as auth_cached_pid,
            started([*on_server, *hello_command], ports["hello"], workdir / "hello.log", env) as hello_pid,
            started([*on_server, *gateway_command], ports["gateway"], workdir / "gateway.log", env) as gateway_pid,
            started([*on_server, *hello_raw_command], ports["hello_raw"], workdir / "hello_raw.log", env)
            if raw else contextlib.nullcontext(0) as hello_raw_pid,
        ):  # fmt: skip
            bench = Bench(workdir, seconds)
            gw = f"http://127.0.0.1:{ports['gateway']}"
            uri = "/products/42?ref=home"
            auth = Target(f"{gw}/.antechamber/auth", OPEN_HOST, gateway_pid, uri)
            auth_nginx = Target(f"{gw}/.antechamber/auth/nginx", OPEN_HOST, gateway_pid, uri)
            queue_auth = Target(f"{gw}/.antechamber/auth", QUEUE_HOST, gateway_pid, uri)
            queue_auth_nginx = Target(f"{gw}/.antechamber/auth/nginx", QUEUE_HOST, gateway_pid, uri)
            hello = Target(f"http://127.0.0.1:{ports['hello']}/", OPEN_HOST, hello_pid, uri)
            hello_raw = Target(f"http://127.0.0.1:{ports['hello_raw']}/", OPEN_HOST, hello_raw_pid, uri)
            nginx_proxy = Target(f"http://127.0.0.1:{ports['proxy']}{uri}", OPEN_HOST, proxy_pid)
            gateway_proxy = Target(f"{gw}{uri}", OPEN_HOST, gateway_pid)
            # Measured on the nginx worker's CPU: what nginx itself spends per visitor request.
            nginx_auth = Target(f"http://127.0.0.1:{ports['auth_proxy']}{uri}", OPEN_HOST, auth_proxy_pid)
            nginx_cached = Target(f"http://127.0.0.1:{ports['auth_cached']}{uri}", OPEN_HOST, auth_cached_pid)
            cookie = first_cookie(ports["gateway"], OPEN_HOST, uri)

            # Warm every server up once (imports, pools, first page render).
            for target, args in (
                *([(hello_raw, ["200", "-"])] if raw else []),
                (hello, ["200", "-"]),
                (auth, ["200", cookie]),
                (nginx_proxy, ["200", cookie]),
                (nginx_auth, ["200", cookie]),
                (nginx_cached, ["200", cookie]),
                (gateway_proxy, ["200", cookie]),
                (queue_auth, ["429", "-"]),
            ):
                bench.wrk(target, args, 1)

            # The gateway's own background work (the config follower polls the store):
            # part of its CPU time in every run below.
            idle_before, idle_wall = cpu_seconds(gateway_pid), time.monotonic()
            time.sleep(2)
            idle_share = (cpu_seconds(gateway_pid) - idle_before) / (time.monotonic() - idle_wall)

            # Rounds: the runs of one comparison alternate, so a change in the machine's
            # load hits both sides; each ratio is the median of the per-round ratios.
            print(f"{rounds} rounds of {seconds} s runs; load average {load_before}")
            counted: list[list[str]] = []
            last_issue = time.monotonic()
            for r in range(rounds):
                issued = workdir / f"issued-{r}.txt"
                issued.touch()
                # New arrivals: no cookie; each joins the queue (a counted first refresh,
                # page rendered). Their cookies come back later as counted refreshes.
                bench.measure("c_new", "new visitor joins the queue (auth, 429 page)", queue_auth,
                              ["429", "-", f"@{issued}"])  # fmt: skip
                last_issue = time.monotonic()
                cookies = issued.read_text().splitlines()
                counted.append(cookies[:-1])
                # A refresh sooner than 20 s after the last counted one: answered, not counted.
                bench.measure("c_early", "queued refresh < 20 s (not counted, no write)", queue_auth,
                              ["429", cookies[-1]])  # fmt: skip
                # The same refresh through nginx's decision endpoint: 401, no page rendered.
                bench.measure("c_early_nginx", "queued refresh < 20 s, auth/nginx (401, no page)",
                              queue_auth_nginx, ["401", cookies[-1]])  # fmt: skip
                bench.measure("a_auth_q", "admitted, auth (paired with new visitors)", auth, ["200", cookie])
            for _ in range(rounds):
                bench.measure("a_hello", f'bare ASGI "hello" ({server_label})', hello, ["200", "-"])
                if raw:
                    bench.measure("a_hello_raw", 'raw-server "hello" (no ASGI, fixed reply)', hello_raw, ["200", "-"])
                bench.measure("a_auth", "admitted, GET /.antechamber/auth (Caddy, Traefik)", auth, ["200", cookie])
                bench.measure("a_auth_nginx", "admitted, GET /.antechamber/auth/nginx", auth_nginx, ["200", cookie])
            for _ in range(rounds):
                bench.measure("b_nginx", "nginx proxy_pass to the origin", nginx_proxy, ["200", cookie])
                bench.measure("b_gateway", "gateway reverse proxy to the origin", gateway_proxy, ["200", cookie])
                bench.measure("b_nginx_auth", "nginx auth_request + proxy_pass (admitted)", nginx_auth,
                              ["200", cookie])  # fmt: skip
                bench.measure("b_nginx_cached", "nginx fast path: auth answer kept 1 s (admitted)", nginx_cached,
                              ["200", cookie])  # fmt: skip

            wait = last_issue + COUNTED_AFTER_S - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            # Each cookie once, all last counted more than 20 s ago: every request is a
            # counted refresh that moves the visitor's place to the current refresh bucket.
            new_rps = max(r.rps for r in bench.runs["c_new"])
            for r, cookies in enumerate(counted):
                replay = workdir / f"replay-{r}.txt"
                replay.write_text("\n".join(cookies) + "\n")
                budget = int(0.6 * len(cookies) / max(new_rps, 1.0))
                bench.measure("c_counted", "queued refresh > 20 s (counted: state write)", queue_auth,
                              ["429", f"@{replay}"], seconds=max(1, min(seconds, budget)))  # fmt: skip
                bench.measure("a_auth_c", "admitted, auth (paired with counted refreshes)", auth, ["200", cookie])

    # Targets: issue 10's table (newer than DESIGN section 5's 0.7 / 0.6 / 0.5, and wins).
    comparisons = {
        "a": ("admitted forward-auth check ÷ bare ASGI hello", "a_auth", "a_hello", 0.9),
        "a_nginx": ("admitted nginx auth check ÷ bare ASGI hello", "a_auth_nginx", "a_hello", 0.9),
        **(
            {
                "a_raw": ("admitted forward-auth check ÷ raw-server hello", "a_auth", "a_hello_raw", 0.6),
                "a_nginx_raw": ("admitted nginx auth check ÷ raw-server hello", "a_auth_nginx", "a_hello_raw", 0.6),
            }
            if server == "raw"
            else {}
        ),
        "b": ("admitted proxied ÷ nginx proxy_pass", "b_gateway", "b_nginx", 0.25),
        # req/s decides this one: the gateway shares core 0 with that nginx, and its CPU is not the worker's.
        "b_fast": ("admitted, nginx fast path ÷ nginx proxy_pass (req/s)", "b_nginx_cached", "b_nginx", 0.6),
        "c": ("queued counted refresh ÷ admitted forward-auth", "c_counted", "a_auth_c", 0.5),
        "c_new": ("new visitor joining the queue ÷ admitted forward-auth", "c_new", "a_auth_q", 0.5),
        "c_early": ("queued early refresh ÷ admitted forward-auth", "c_early", "a_auth_q", 0.5),
        "c_early_nginx": ("queued early refresh, no page ÷ admitted forward-auth", "c_early_nginx", "a_auth_q", 0.5),
    }
    ratios: dict[str, dict[str, Any]] = {}
    for key, (label, candidate, baseline, goal) in comparisons.items():
        by_rps = bench.paired(candidate, baseline)
        by_cpu = bench.paired_cpu(candidate, baseline)
        summary = bench.summary()
        ratios[key] = {
            "label": label,
            "target": goal,
            "shares": [summary[candidate]["cpu_share"], summary[baseline]["cpu_share"]],
            "rps": statistics.median(by_rps),
            "rps_each": [round(v, 3) for v in by_rps],
            "cpu": statistics.median(by_cpu),
            "cpu_each": [round(v, 3) for v in by_cpu],
        }
    return {
        "machine": machine(),
        "server": server,
        "state": "redis" if state.startswith("redis") else state,
        "timings": timings,
        "versions": versions(server),
        "seconds": seconds,
        "rounds": rounds,
        "connections": CONNECTIONS,
        "load_average": {"before": load_before, "after": load_average()},
        "gateway_idle_cpu_share": idle_share,
        "wall_s": round(time.monotonic() - started_at),
        "results": bench.summary(),
        "ratios": ratios,
    }


#: Below this share of its core a server's figures are not evidence: no verdict.
MIN_SHARE = 0.95
#: Issue 10's tail target, and the runs of an admitted visitor it applies to.
TAIL_FACTOR = 4.0
TAIL_RUNS = ("a_auth", "a_auth_nginx", "a_auth_q", "a_auth_c", "b_gateway")


def print_table(report: dict[str, Any]) -> None:
    print()
    print(f"machine: {report['machine']}; server under test: {report['server']}; state: {report['state']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()))
    print(
        f"wrk -t1 -c{report['connections']}; {report['rounds']} rounds of {report['seconds']} s per run; "
        f"load average {report['load_average']['before']} -> {report['load_average']['after']}; "
        f"{report['wall_s']} s in all"
    )
    print(f"gateway idle (config follower only): {report['gateway_idle_cpu_share']:.1%} of a core")
    print()
    heads = f"{'req/s':>7} {'per cpu-s':>9} {'cpu':>5} {'p50 ms':>7} {'p99 ms':>7} {'odd':>4}"
    print(f"{'run (median of rounds)':<52} {heads}")
    for r in report["results"].values():
        print(
            f"{r['name']:<52} {r['rps']:>7.0f} {r['per_cpu_s']:>9.0f} {r['cpu_share']:>5.0%}"
            f" {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} {r['unexpected']:>4}"
        )
    print()
    print(
        f"{'ratio (median of per-round ratios)':<56} {'req/s':>6} {'cpu-s':>6} {'target':>7}"
        "  verdict (cpu-s unless marked)"
    )
    for ratio in report["ratios"].values():
        figure = ratio["rps"] if "(req/s)" in ratio["label"] else ratio["cpu"]
        if min(ratio["shares"]) < MIN_SHARE:
            verdict = f"no verdict: a server got {min(ratio['shares']):.0%} of its core"
        else:
            verdict = "met" if figure >= ratio["target"] else "MISSED"
        target = ">= " + str(ratio["target"])
        print(f"{ratio['label']:<56} {ratio['rps']:>6.2f} {ratio['cpu']:>6.2f} {target:>7}  {verdict}")
    print()
    print(f"tail: p99 <= {TAIL_FACTOR} x p50 on every round (issue 10)")
    for key in TAIL_RUNS:
        row = report["results"].get(key)
        if row is None:
            continue
        worst = max(p99 / p50 for p50, p99 in zip(row["p50_each"], row["p99_each"], strict=True) if p50 > 0)
        verdict = "met" if worst <= TAIL_FACTOR else "MISSED"
        print(f"{row['name']:<56} worst p99/p50 {worst:>6.1f}  {verdict}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    hello = sub.add_parser("serve-hello")
    hello.add_argument("--port", type=int, required=True)
    hello_raw = sub.add_parser("serve-hello-raw")
    hello_raw.add_argument("--port", type=int, required=True)
    gateway = sub.add_parser("serve-gateway")
    gateway.add_argument("--port", type=int, required=True)
    gateway.add_argument("--data-dir", type=Path, required=True)
    gateway.add_argument("--origin", required=True)
    gateway.add_argument("--front", choices=("uvicorn", "raw"), default="uvicorn")
    gateway.add_argument("--timings", action="store_true")
    gateway.add_argument("--state", default="memory", help="memory (the default) or a Redis URL, as `serve --state`")
    parser.add_argument("--seconds", type=int, default=2, help="seconds per run (default 2)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per comparison (default 4)")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    parser.add_argument(
        "--state", default="memory", help="the gateway's state: memory (the default) or a Redis URL (uvicorn, raw)"
    )
    parser.add_argument(
        "--timings",
        action="store_true",
        help="the gateway times its requests (antechamber_request_duration_seconds) as `antechamber serve` does; "
        "benchmarks/request_timing.py measures that cost with and without, side by side",
    )
    parser.add_argument(
        "--server",
        choices=("uvicorn", "granian", "raw"),
        default="uvicorn",
        help="the ASGI server for both the hello baseline and the gateway (default uvicorn); "
        "raw: the gateway on its raw HTTP/1.1 server, against the uvicorn hello and a raw-server hello",
    )
    args = parser.parse_args(argv)
    if args.command == "serve-hello":
        serve_hello(args.port)
        return 0
    if args.command == "serve-hello-raw":
        serve_hello_raw(args.port)
        return 0
    if args.command == "serve-gateway":
        serve_gateway(args.data_dir, args.port, args.origin, args.front, args.timings, args.state)
        return 0
    report = run_all(args.seconds, args.rounds, args.server, args.timings, args.state)
    print_table(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
