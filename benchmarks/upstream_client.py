"""Upstream client throughput against nginx on loopback: own pool vs httpx (and aiohttp if installed).

Usage::

    .venv/bin/python benchmarks/upstream_client.py [--seconds 3] [--inflight 32] [--loop uvloop|asyncio]

Starts a private nginx (one worker, ~100 B static page, keep-alive) on a free loopback port,
then, for each client, runs GET + read body + close for a fixed time: once strictly
sequentially and once with ``--inflight`` requests in flight. With two or more CPUs the
client is pinned to CPU 0 and nginx to CPU 1, as in stack research §A.3. Prints requests
per second and the ratio to the own pool; absolute numbers drift between machines, the
ratios are the point. A bare ~30-line Protocol+httptools client (no timeouts, no streaming,
no cap: the kind of prototype stack research measured) shows what the production features
cost. Everything stays on 127.0.0.1 and each phase is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from antechamber.gateway.upstream import Limits, Origin, UpstreamPool

PAGE = b"<!doctype html><title>origin</title><p>Hello from the origin, about one hundred bytes long.</p>\n"

CONF = """
daemon off;
worker_processes 1;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {tmp}/www;
    }}
}}
"""

Fetch = Callable[[], Awaitable[bytes]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def nginx(pin: bool) -> Iterator[int]:
    """Run a private nginx serving PAGE at /index.html; yield its port."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(binary, os.X_OK):
        sys.exit("nginx is not installed (Debian: apt-get install nginx)")
    tmp = Path(tempfile.mkdtemp(prefix="antechamber-bench-nginx-"))
    (tmp / "www").mkdir()
    (tmp / "www" / "index.html").write_bytes(PAGE)
    port = _free_port()
    user = "user root;" if os.geteuid() == 0 else ""  # workers must read the root-owned tmp dir
    (tmp / "nginx.conf").write_text(CONF.format(tmp=tmp, port=port, user=user))
    preexec = (lambda: os.sched_setaffinity(0, {1})) if pin else None
    proc = subprocess.Popen([binary, "-p", str(tmp), "-c", str(tmp / "nginx.conf")], preexec_fn=preexec)
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                sys.exit("nginx did not start; see " + str(tmp / "error.log"))
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


async def run(fetch: Fetch, inflight: int, seconds: float) -> tuple[float, float]:
    """Requests per second with ``inflight`` concurrent loops for ``seconds`` (after a short warm-up),
    and the client's own CPU time per request in µs, which other load on the machine barely skews."""
    for _ in range(200):
        assert await fetch() == PAGE
    count = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal count
        while time.perf_counter() < stop:
            await fetch()
            count += 1

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(inflight)))
    return count / (time.perf_counter() - start), (time.process_time() - cpu) / count * 1e6


@contextlib.asynccontextmanager
async def own_pool(port: int) -> AsyncIterator[Fetch]:
    pool = UpstreamPool(limits=Limits(max_connections=512))
    origin = Origin("http", "127.0.0.1", port)
    headers = [(b"host", b"localhost"), (b"user-agent", b"bench")]

    async def fetch() -> bytes:
        resp = await pool.request("GET", "/index.html", headers, None, origin=origin)
        try:
            return await resp.read()
        finally:
            await resp.aclose()

    try:
        yield fetch
    finally:
        await pool.aclose()


class _Prototype(asyncio.Protocol):
    """The bare minimum (no timeouts, no streaming, no cap): what the production pool is measured against."""

    def __init__(self) -> None:
        import httptools

        self.parser = httptools.HttpResponseParser(self)
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.done: asyncio.Future[bytes] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))  # any proxy must at least collect the headers

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        assert self.done is not None
        self.done.set_result(b"".join(self.body))
        self.body = []
        self.headers = []


@contextlib.asynccontextmanager
async def prototype(port: int) -> AsyncIterator[Fetch]:
    loop = asyncio.get_running_loop()
    idle: list[_Prototype] = []
    head = b"GET /index.html HTTP/1.1\r\nhost: localhost\r\nuser-agent: bench\r\n\r\n"

    async def fetch() -> bytes:
        if idle:
            conn = idle.pop()
        else:
            _, conn = await loop.create_connection(_Prototype, "127.0.0.1", port)
        conn.done = loop.create_future()
        conn.transport.write(head)  # type: ignore[attr-defined]
        body = await conn.done
        idle.append(conn)
        return body

    try:
        yield fetch
    finally:
        for conn in idle:
            conn.transport.close()


@contextlib.asynccontextmanager
async def httpx_client(port: int) -> AsyncIterator[Fetch]:
    import httpx

    limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits) as client:

        async def fetch() -> bytes:
            resp = await client.get("/index.html", headers={"user-agent": "bench"})
            return resp.content

        yield fetch


@contextlib.asynccontextmanager
async def aiohttp_client(port: int) -> AsyncIterator[Fetch]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=512)
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", connector=connector) as session:

        async def fetch() -> bytes:
            async with session.get("/index.html", headers={"user-agent": "bench"}) as resp:
                body: bytes = await resp.read()
                return body

        yield fetch


Row = tuple[str, float, float, float]


async def bench(port: int, seconds: float, inflight: int) -> list[Row]:
    clients: list[tuple[str, Callable[[int], contextlib.AbstractAsyncContextManager[Fetch]]]] = [
        ("own pool (UpstreamPool)", own_pool),
        ("bare prototype (reference)", prototype),
        ("httpx 0.28 AsyncClient", httpx_client),
    ]
    try:
        import aiohttp  # noqa: F401

        clients.insert(2, ("aiohttp ClientSession", aiohttp_client))
    except ImportError:
        print("aiohttp is not installed: skipped", file=sys.stderr)
    rows: list[Row] = []
    for name, factory in clients:
        async with factory(port) as fetch:
            sequential, _ = await run(fetch, 1, seconds)
            concurrent, cpu = await run(fetch, inflight, seconds)
        rows.append((name, sequential, concurrent, cpu))
        print(f"  {name}: {sequential:,.0f} req/s sequential, {concurrent:,.0f} req/s at {inflight}", file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measured time per client and mode (max 30)")
    parser.add_argument("--inflight", type=int, default=32, help="concurrent requests in the second mode")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--no-pin", action="store_true", help="do not pin client and nginx to separate CPUs")
    args = parser.parse_args()
    seconds = min(args.seconds, 30.0)
    pin = not args.no_pin and (os.cpu_count() or 1) >= 2 and hasattr(os, "sched_setaffinity")
    if pin:
        os.sched_setaffinity(0, {0})
    with nginx(pin) as port:
        if args.loop == "uvloop":
            import uvloop

            rows = uvloop.run(bench(port, seconds, args.inflight))
        else:
            rows = asyncio.run(bench(port, seconds, args.inflight))
    base_seq, base_conc = rows[0][1], rows[0][2]
    load = os.getloadavg()[0]
    print(f"\nGET ~{len(PAGE)} B from nginx on loopback, {args.loop} loop, {seconds:g} s per cell")
    print(f"pinned client/nginx to CPU 0/1: {pin}; 1-min load average at the end: {load:.1f}\n")
    n = args.inflight
    print(f"| client | seq req/s | seq µs/req | {n} in flight req/s | client CPU µs/req | ratio seq | ratio {n} |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, seq, conc, cpu in rows:
        cells = (
            f"{seq:,.0f} | {1e6 / seq:,.0f} | {conc:,.0f} | {cpu:,.1f} | {seq / base_seq:.2f} | {conc / base_conc:.2f}"
        )
        print(f"| {name} | {cells} |")


if __name__ == "__main__":
    main()
