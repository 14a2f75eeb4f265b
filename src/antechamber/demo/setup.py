"""The demo's zone, room and API token, created on first start and left alone after.

The zone is ``localhost``, so a browser on the same machine reaches the room at
``http://localhost:<gateway port>/``. The room is tiny (5 active users, 5 new per
minute, 1-minute sessions) so that a handful of visitors already makes a queue;
the demo lowers the API's 200-user minimum to allow that.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from antechamber.api.models.fields import min_user_limit
from antechamber.api.models.room import RoomInput
from antechamber.api.room_checks import room_routes
from antechamber.db import accounts, rooms, tables, tokens
from antechamber.db.engine import Database
from antechamber.db.ids import format_timestamp, new_id, utc_now
from antechamber.db.rooms import StoredRoom

ZONE = "localhost"
ROOM_NAME = "demo"
TOKEN_FILE = "demo-token"
#: The API minimum while the demo runs: low enough for the demo room and for trying small limits.
DEMO_MIN_USERS = 1
ROOM = {
    "name": ROOM_NAME,
    "host": ZONE,
    "path": "/",
    "description": "The demo shop: 5 visitors at a time, 5 new ones a minute.",
    "total_active_users": 5,
    "new_users_per_minute": 5,
    "session_duration": 1,
    "queueing_method": "fifo",
}


@dataclass(frozen=True, slots=True)
class DemoSetup:
    """What the banner shows. ``token`` is set only when it was created by this start."""

    zone_id: str
    room_id: str
    token_path: Path
    token: str | None


async def ensure_demo(database: Database, data_dir: Path) -> DemoSetup:
    """Create what is missing (zone, room, token) and return where everything is."""
    async with database.begin() as connection:
        zone = await accounts.zone_by_name(connection, ZONE)
        if zone is None:
            # create_zone wants a two-label domain; the demo's zone is the one exception, written directly.
            zone_id = new_id()
            await connection.execute(
                insert(tables.zones).values(
                    id=zone_id,
                    account_id=accounts.DEFAULT_ACCOUNT_ID,
                    name=ZONE,
                    search_engine_crawler_bypass=False,
                    created_on=format_timestamp(utc_now()),
                )
            )
        else:
            zone_id = zone.id
        room_id = await _ensure_room(connection, zone_id)
        token_path = data_dir / TOKEN_FILE
        token = await _ensure_token(connection, zone_id, token_path)
    return DemoSetup(zone_id, room_id, token_path, token)


async def _ensure_room(connection: AsyncConnection, zone_id: str) -> str:
    """The demo room's id; an existing one is kept as the operator may have edited it."""
    found, _total = await rooms.list_rooms(connection, [zone_id], 0, 1000)
    for room in found:
        if room.body.get("name") == ROOM_NAME:
            return room.id
    token = min_user_limit.set(DEMO_MIN_USERS)
    try:
        body = RoomInput.model_validate(ROOM).model_dump(mode="json")
    finally:
        min_user_limit.reset(token)
    stamp = format_timestamp(utc_now())
    room_id = new_id()
    stored = StoredRoom(room_id, zone_id, body, stamp, stamp)
    await rooms.insert_room(connection, stored, room_routes(body))
    return room_id


async def _ensure_token(connection: AsyncConnection, zone_id: str, path: Path) -> str | None:
    """Reuse the token in ``path`` while it is valid; else mint one, write it (0600) and return it."""
    try:
        secret = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        secret = ""
    if secret and await tokens.token_for_secret(connection, secret) is not None:
        return None
    secret, _token = await tokens.create_token(connection, "write", [zone_id], "demo")
    write_secret(path, secret)
    return secret


def write_secret(path: Path, secret: str) -> None:
    """Write ``secret`` readable by its owner only; it never exists world-readable, even briefly."""
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, (secret + "\n").encode("ascii"))
    finally:
        os.close(descriptor)
    os.replace(temporary, path)
