"""End-to-end harness: a real origin, the gateway and visitors, all over loopback HTTP.

Both servers are uvicorn instances on free ports inside the test's event loop.
The configuration lives in a real SQLite store, written through the db module
with bodies shaped exactly as the management API stores them (the API would
refuse the tiny limits these tests need).
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from antechamber.api.models.event import EventInput
from antechamber.api.models.room import RoomInput
from antechamber.core.cookie import CookieCodec, KeyRing
from antechamber.db import accounts, events, rooms
from antechamber.db.engine import Database
from antechamber.db.events import StoredEvent
from antechamber.db.ids import format_timestamp, new_id
from antechamber.db.rooms import StoredRoom
from antechamber.gateway.app import Gateway, create_gateway
from antechamber.gateway.challenge import ChallengeGate
from antechamber.gateway.follower import ConfigFollower
from antechamber.gateway.raw import serve_gateway_raw
from antechamber.gateway.upstream import Timeouts, UpstreamPool
from antechamber.state.memory import MemoryState

#: 2026-06-01 12:00:00 UTC, a whole minute, so tests reason in round numbers.
T0_MS = 1_780_315_200_000
HOST = "shop.example.com"
KEYRING = KeyRing(current_id=1, keys={1: bytes(range(32))})


class Clock:
    """The gateway's clock, moved by the test (integer ms)."""

    def __init__(self, now_ms: int = T0_MS) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, seconds: float) -> None:
        self.now_ms += int(seconds * 1000)

    def iso(self, offset_s: float = 0) -> str:
        """The ISO 8601 text of now + ``offset_s``."""
        return format_timestamp(datetime.fromtimestamp((self.now_ms + offset_s * 1000) / 1000, tz=UTC))


@asynccontextmanager
async def serve(app: Any, **options: Any) -> AsyncIterator[str]:
    """Serve an ASGI app on a free loopback port; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="off", **options)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def serve_raw(gateway: Gateway) -> AsyncIterator[str]:
    """Serve the gateway with the raw HTTP/1.1 server on a free loopback port; yields its base URL."""
    server = await serve_gateway_raw(gateway, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.aclose(grace=1.0)


def serve_gateway(gateway: Gateway, server: str) -> Any:
    """The gateway behind ``server``: ``"uvicorn"`` (the ASGI app) or ``"raw"``."""
    return serve_raw(gateway) if server == "raw" else serve(gateway, proxy_headers=False)


def room_body(**fields: Any) -> dict[str, Any]:
    """A room body as the API stores it; limits may go below the API's minimum of 200."""
    small = {k: fields.pop(k) for k in ("total_active_users", "new_users_per_minute") if k in fields}
    body = {"name": "shop", "host": HOST, "total_active_users": 200, "new_users_per_minute": 200, **fields}
    stored = RoomInput.model_validate(body).model_dump(mode="json")
    stored.update(small)
    return stored


@dataclass
class Site:
    """The running system: store, follower, gateway, origin, clock."""

    db: Database
    zone_id: str
    clock: Clock
    follower: ConfigFollower
    state: MemoryState
    gateway: Gateway
    url: str
    origin_url: str
    origin_log: list[dict[str, Any]] = field(default_factory=list)

    async def add_room(self, **fields: Any) -> str:
        """Store a room and make the gateway see it; returns its id."""
        room_id = new_id()
        body = room_body(**fields)
        routes = [(body["host"], body["path"])] + [(r["host"], r["path"]) for r in body["additional_routes"]]
        stamp = self.clock.iso()
        async with self.db.begin() as connection:
            await rooms.insert_room(connection, StoredRoom(room_id, self.zone_id, body, stamp, stamp), routes)
        await self.follower.refresh()
        return room_id

    async def edit_room(self, room_id: str, *, reload: bool = True, **fields: Any) -> None:
        """Change stored room fields (then reload the gateway's config unless told not to)."""
        async with self.db.begin() as connection:
            room = await rooms.get_room(connection, self.zone_id, room_id)
            assert room is not None
            body = {**room.body, **fields}
            routes = [(body["host"], body["path"])] + [(r["host"], r["path"]) for r in body["additional_routes"]]
            updated = StoredRoom(room_id, self.zone_id, body, room.created_on, self.clock.iso())
            await rooms.replace_room(connection, updated, routes)
        if reload:
            await self.follower.refresh()

    async def add_event(self, room_id: str, **fields: Any) -> str:
        """Store an event (times as ISO text, like the API) and reload."""
        event_id = new_id()
        small = {k: fields.pop(k) for k in ("total_active_users", "new_users_per_minute") if k in fields}
        body = EventInput.model_validate({"name": f"event-{event_id[:6]}", **fields}).model_dump(mode="json")
        body.update(small)
        stamp = self.clock.iso()
        async with self.db.begin() as connection:
            await events.insert_event(connection, StoredEvent(event_id, room_id, body, stamp, stamp))
        await self.follower.refresh()
        return event_id

    def visitor(self, **headers: str) -> httpx.AsyncClient:
        """A visitor: a client with its own cookie jar, talking to the gateway for ``HOST``."""
        return httpx.AsyncClient(base_url=self.url, headers={"host": HOST, **headers}, follow_redirects=False)


async def origin_app(
    scope: dict[str, Any], receive: Any, send: Any, log: list[dict[str, Any]], gate: asyncio.Event
) -> None:
    """The origin: echoes what it got as JSON; a few paths behave specially."""
    if scope["type"] == "websocket":
        await receive()
        log.append({"path": scope["path"], "headers": _headers(scope), "websocket": True})
        await send({"type": "websocket.accept", "subprotocol": None})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") == "close":
                await send({"type": "websocket.close", "code": 4000})
                return
            if message.get("text") is not None:
                await send({"type": "websocket.send", "text": "echo:" + message["text"]})
            else:
                await send({"type": "websocket.send", "bytes": b"echo:" + message["bytes"]})
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    path = scope["path"]
    entry = {
        "method": scope["method"],
        "path": path,
        "query": scope["query_string"].decode(),
        "headers": _headers(scope),
        "body": body.decode("latin-1"),
    }
    log.append(entry)
    extra: list[tuple[bytes, bytes]] = []
    if path.startswith("/revoke"):
        extra.append((b"cf-waiting-room-command", b"revoke"))
    if path.startswith("/command"):
        extra.append((b"Cf-Waiting-Room-Command", b"something-else"))
    if path.startswith("/slow"):
        await gate.wait()
    if path.startswith("/stream"):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for i in range(5):
            await send({"type": "http.response.body", "body": f"chunk{i};".encode(), "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    payload = json.dumps(entry).encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json"), *extra]}
    )
    await send({"type": "http.response.body", "body": payload})


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}


_migrated: list[Path] = []


async def _fresh_store(tmp_path: Path) -> Database:
    """A migrated SQLite store: migrated once per test run, then copied (migrations are slow)."""
    if not _migrated or not _migrated[0].exists():
        template = Path(tempfile.mkdtemp(prefix="antechamber-gw-")) / "template.db"
        db = Database(f"sqlite+aiosqlite:///{template}")
        await db.migrate()
        await db.dispose()
        _migrated[:] = [template]
    target = tmp_path / "antechamber.db"
    shutil.copyfile(_migrated[0], target)
    return Database(f"sqlite+aiosqlite:///{target}")


@asynccontextmanager
async def running_site(
    tmp_path: Path,
    *,
    trusted_proxies: tuple[str, ...] = ("127.0.0.1/32",),
    read_timeout: float = 5.0,
    origin_url: str | None = None,
    interval: float = 3600.0,
    server: str = "uvicorn",
    clock: Clock | None = None,
    challenge: ChallengeGate | None = None,
) -> AsyncIterator[Site]:
    """Start the origin and the gateway over a fresh SQLite store.

    ``interval`` is the follower's poll period; tests reload explicitly unless
    they are about the background poll. ``server`` is the gateway's front end:
    ``"uvicorn"`` (the ASGI app) or ``"raw"`` (the raw HTTP/1.1 server).
    ``challenge`` is the gateway's challenge (none by default); its tests need a
    ``clock`` near real time, since the challenge library checks expiry against it too.
    """
    db = await _fresh_store(tmp_path)
    async with db.begin() as connection:
        zone = await accounts.create_zone(connection, "example.com")
    clock = clock or Clock()
    log: list[dict[str, Any]] = []
    gate = asyncio.Event()

    async def origin(scope: Any, receive: Any, send: Any) -> None:
        await origin_app(scope, receive, send, log, gate)

    follower = ConfigFollower(db, interval=interval)
    await follower.start()
    state = MemoryState()
    pool = UpstreamPool(timeouts=Timeouts(pool=5, connect=5, read=read_timeout, idle=5))
    try:
        async with serve(origin) as own_origin:
            gateway = create_gateway(
                follower,
                state,
                CookieCodec(KEYRING),
                pool,
                default_origin=origin_url or own_origin,
                trusted_proxies=trusted_proxies,
                clock=clock,
                rng=random.Random(7),
                challenge=challenge,
            )
            async with serve_gateway(gateway, server) as url:
                try:
                    yield Site(db, zone.id, clock, follower, state, gateway, url, own_origin, log)
                finally:
                    gate.set()
    finally:
        await pool.aclose()
        await follower.aclose()
        await db.dispose()
