"""Real services for tests: use the machine's, or start a private one, or skip.

A test that needs PostgreSQL, nginx, Caddy or Chromium asks for it through the
fixtures in ``tests/conftest.py``, which call these helpers. The order is:

1. a server already listening where the environment says (``ANTECHAMBER_TEST_PG_URL``,
   or PostgreSQL on 127.0.0.1:5432);
2. a private instance started on a free loopback port when the binary exists;
3. otherwise skip with the reason, except under ``CI=true``, where the missing
   service fails the test instead: CI must never pass by skipping.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing(reason: str) -> None:
    """Skip outside CI, fail inside it: a required service must never be silently absent."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    """Whether something accepts TCP connections at host:port."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    """Block until host:port accepts connections, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on {host}:{port} within {timeout}s")


def find_binary(name: str, *extra_dirs: str) -> str | None:
    """Locate a binary on PATH or in the given directories."""
    found = shutil.which(name)
    if found:
        return found
    for directory in extra_dirs:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


# --- PostgreSQL -------------------------------------------------------------------------


def _pg_bin_dirs() -> list[str]:
    return sorted((str(p) for p in Path("/usr/lib/postgresql").glob("*/bin")), reverse=True)


@contextlib.contextmanager
def private_postgres() -> Iterator[str]:
    """Start a throwaway PostgreSQL cluster on a free port; yield its admin URL."""
    initdb = find_binary("initdb", *_pg_bin_dirs())
    pg_ctl = find_binary("pg_ctl", *_pg_bin_dirs())
    if not initdb or not pg_ctl:
        missing("PostgreSQL is not running on 127.0.0.1:5432 and initdb/pg_ctl are not installed")
        raise AssertionError("unreachable")
    workdir = tempfile.mkdtemp(prefix="antechamber-pg-")
    datadir = os.path.join(workdir, "data")
    port = free_port()
    # initdb refuses to run as root; a fresh root-owned machine needs another user for it.
    run_as: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(workdir, "nobody")
        run_as = ["runuser", "-u", "nobody", "--"]
    subprocess.run(
        [*run_as, initdb, "-D", datadir, "-A", "trust", "-U", "postgres", "--no-sync"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *run_as,
            pg_ctl,
            "-D",
            datadir,
            "-l",
            os.path.join(workdir, "log"),
            "-o",
            f"-p {port} -k {workdir} -h 127.0.0.1 -F",
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", datadir, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def postgres_admin_url() -> Iterator[str]:
    """Yield a URL to a PostgreSQL server this test session may create databases on."""
    url = os.environ.get("ANTECHAMBER_TEST_PG_URL")
    if url:
        yield url
    elif port_open("127.0.0.1", 5432):
        yield "postgresql://postgres@127.0.0.1:5432/test"
    else:
        with private_postgres() as started:
            yield started


@contextlib.contextmanager
def fresh_postgres_database(admin_url: str) -> Iterator[str]:
    """Create an empty, uniquely named database; yield its SQLAlchemy asyncpg URL; drop it after."""
    import asyncio

    import asyncpg

    name = f"antechamber_test_{uuid.uuid4().hex[:12]}"

    async def execute(sql: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- binaries started by tests (nginx, caddy, chromium) ----------------------------------


def require_binary(name: str, *extra_dirs: str) -> str:
    """Return the binary's path, or skip (fail in CI) naming the Debian package to install."""
    found = find_binary(name, *extra_dirs)
    if not found:
        missing(f"{name} is not installed (Debian: apt-get install {name})")
        raise AssertionError("unreachable")
    return found


def chromium_binary() -> str:
    """The headless browser used for page tests and screenshots."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = find_binary(name)
        if found:
            return found
    missing("chromium is not installed (Debian: apt-get install chromium)")
    raise AssertionError("unreachable")


# --- Redis -------------------------------------------------------------------------------


class RedisServer:
    """A private ``redis-server`` on a free loopback port, which fault tests may freeze, kill and restart."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.workdir = tempfile.mkdtemp(prefix="antechamber-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (or restart) it empty: no persistence, as a Redis restarted without it comes back."""
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            + ["--dir", self.workdir, "--logfile", os.path.join(self.workdir, "log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port("127.0.0.1", self.port)

    def freeze(self) -> None:
        """Stop answering without closing connections (SIGSTOP), as a hung server does."""
        assert self.process is not None
        self.process.send_signal(19)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(18)

    def stop(self) -> None:
        if self.process is not None:
            self.resume()
            self.process.kill()
            self.process.wait()
            self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def redis_binary() -> str | None:
    return find_binary("redis-server", "/usr/bin", "/usr/local/bin")


@contextlib.contextmanager
def private_redis() -> Iterator[RedisServer]:
    """A private Redis for tests that need one to themselves (faults); skip (fail in CI) without the binary."""
    binary = redis_binary()
    if binary is None:
        missing("redis-server is not installed (Debian: apt-get install redis-server)")
        raise AssertionError("unreachable")
    server = RedisServer(binary)
    server.start()
    try:
        yield server
    finally:
        server.close()


@contextlib.contextmanager
def redis_url() -> Iterator[str]:
    """A Redis this test session may use (each test keeps to its own key prefix).

    ``ANTECHAMBER_TEST_REDIS_URL``, else a private server when the binary exists, else the
    machine's on 127.0.0.1:6379, else skip (fail in CI).
    """
    url = os.environ.get("ANTECHAMBER_TEST_REDIS_URL")
    if url:
        yield url
    elif redis_binary() is not None:
        with private_redis() as server:
            yield server.url
    elif port_open("127.0.0.1", 6379):
        yield "redis://127.0.0.1:6379/0"
    else:
        missing("no Redis: redis-server is not installed and nothing listens on 127.0.0.1:6379")


def _free_cluster_port() -> int:
    """A free loopback port whose cluster bus port (port + 10000) is free too."""
    while True:
        port = free_port()
        if port + 10000 <= 65535:
            with contextlib.suppress(OSError), socket.socket() as s:
                s.bind(("127.0.0.1", port + 10000))
                return port


def _cluster_ok(cli: str, port: int) -> bool:
    info = subprocess.run([cli, "-p", str(port), "cluster", "info"], capture_output=True, text=True).stdout
    return "cluster_state:ok" in info


@contextlib.contextmanager
def private_redis_cluster(masters: int = 3, timeout: float = 30.0) -> Iterator[str]:
    """A throwaway Redis Cluster (``masters`` primaries, no replicas) on free loopback ports.

    Yields ``redis+cluster://127.0.0.1:PORT`` (the first node as the seed); kills every
    node and removes its files after. Skips (fails in CI) without redis-server or redis-cli.
    """
    server = find_binary("redis-server", "/usr/bin", "/usr/local/bin")
    cli = find_binary("redis-cli", "/usr/bin", "/usr/local/bin")
    if server is None or cli is None:
        missing("redis-server or redis-cli is not installed (Debian: apt-get install redis-server redis-tools)")
        raise AssertionError("unreachable")
    workdir = tempfile.mkdtemp(prefix="antechamber-redis-cluster-")
    ports: list[int] = []
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(masters):
            port = _free_cluster_port()
            while port in ports:
                port = _free_cluster_port()
            ports.append(port)
            node_dir = os.path.join(workdir, str(port))
            os.mkdir(node_dir)
            processes.append(
                subprocess.Popen(
                    [server, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes"]
                    + ["--cluster-config-file", os.path.join(node_dir, "nodes.conf")]
                    + ["--save", "", "--appendonly", "no", "--dir", node_dir]
                    + ["--logfile", os.path.join(node_dir, "log")],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for port in ports:
            wait_for_port("127.0.0.1", port)
        subprocess.run(
            [cli, "--cluster", "create", *(f"127.0.0.1:{port}" for port in ports)]
            + ["--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
        deadline = time.monotonic() + timeout
        while not all(_cluster_ok(cli, port) for port in ports):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Redis Cluster on ports {ports} was not ok within {timeout}s")
            time.sleep(0.05)
        yield f"redis+cluster://127.0.0.1:{ports[0]}"
    finally:
        for process in processes:
            process.kill()
        for process in processes:
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


# --- processes and origins the tests start -------------------------------------------------


def antechamber_command(*args: str) -> list[str]:
    """The CLI as a child process, with the interpreter running the tests."""
    return [sys.executable, "-c", "from antechamber.cli import main; main()", *args]


def stop_process(process: subprocess.Popen[bytes], signum: int = signal.SIGTERM, timeout: float = 15) -> int:
    """Signal the process and wait for it (killing it if it hangs); returns its exit status."""
    if process.poll() is None:
        process.send_signal(signum)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    return process.returncode


class GreetingOrigin(BaseHTTPRequestHandler):
    """An origin that answers every GET with ``greeting``."""

    greeting = b"hello from the origin"

    def do_GET(self) -> None:
        body = self.greeting
        self.send_response(200)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return  # keep the test output clean


@contextlib.contextmanager
def http_origin(handler: type[BaseHTTPRequestHandler] = GreetingOrigin) -> Iterator[str]:
    """A real HTTP origin on a free loopback port, in a thread; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
