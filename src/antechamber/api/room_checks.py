"""Rules a room must satisfy beyond its fields' own types and ranges."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from antechamber.api.errors import conflict, invalid
from antechamber.db import rooms
from antechamber.db.accounts import Zone
from antechamber.db.rooms import Route


def room_routes(body: dict[str, Any]) -> list[Route]:
    """Every (host, path) the room covers, primary first; hosts compared case-insensitively."""
    routes = [(body["host"].lower().rstrip("."), body["path"])]
    routes += [(route["host"].lower().rstrip("."), route["path"]) for route in body["additional_routes"]]
    return routes


def check_room(body: dict[str, Any], zone: Zone) -> list[Route]:
    """Check the cross-field rules of a validated room body; returns its routes."""
    routes = check_room_fields(body)
    for host, _path in routes:
        if host != zone.name and not host.endswith("." + zone.name):
            raise invalid(f"host {host!r} is not in the zone {zone.name!r}")
    return routes


def check_room_fields(body: dict[str, Any]) -> list[Route]:
    """The cross-field rules that need no zone (a room given in code to the middleware has none)."""
    if body["new_users_per_minute"] > body["total_active_users"]:
        raise conflict("new_users_per_minute must not be greater than total_active_users")
    if body["additional_routes"] and not body["cookie_suffix"]:
        raise conflict("cookie_suffix is required when additional_routes is set")
    routes = room_routes(body)
    seen: set[Route] = set()
    for route in routes:
        if route in seen:
            raise conflict(f"the route {route[0]}{route[1]} is listed twice in this room")
        seen.add(route)
    return routes


async def check_room_in_store(
    connection: AsyncConnection, zone: Zone, body: dict[str, Any], routes: list[Route], room_id: str | None
) -> None:
    """Check the rules that involve other rooms: unique name in the zone, routes used once."""
    if await rooms.name_taken(connection, zone.id, body["name"], except_room=room_id):
        raise conflict(f"a waiting room named {body['name']!r} already exists in this zone")
    taken = await rooms.routes_taken(connection, routes, except_room=room_id)
    if taken:
        (host, path), owner = taken[0]
        raise conflict(f"the route {host}{path} already belongs to waiting room {owner}")
