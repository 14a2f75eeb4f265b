"""Waiting rooms: create, get, list (zone and account), update (PUT), edit (PATCH), delete."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncConnection

from antechamber.api import errors
from antechamber.api.auth import AuthorizedZone, Token
from antechamber.api.context import ClockDep, DatabaseDep, write_transaction
from antechamber.api.envelope import ERROR_RESPONSES, Envelope, ListEnvelope
from antechamber.api.errors import ApiError, not_found
from antechamber.api.models.room import DeletedObject, Room, RoomInput, RoomPatch
from antechamber.api.pagination import PageParams
from antechamber.api.room_checks import check_room, check_room_in_store
from antechamber.api.schedule import EventWindow, next_event
from antechamber.db import accounts, events, rooms
from antechamber.db.accounts import Zone
from antechamber.db.ids import format_timestamp, is_id, new_id, parse_timestamp
from antechamber.db.rooms import StoredRoom

router = APIRouter(tags=["waiting rooms"], responses=ERROR_RESPONSES)


def room_result(room: StoredRoom, event_list: list[events.StoredEvent], now: datetime) -> Room:
    """The API shape of a stored room, with its computed fields."""
    upcoming = next_event([EventWindow.of(event.id, event.body) for event in event_list], now)
    upcoming_body = {} if upcoming is None else next(e.body for e in event_list if e.id == upcoming.event_id)
    return Room.model_validate(
        {
            **room.body,
            "id": room.id,
            "created_on": parse_timestamp(room.created_on),
            "modified_on": parse_timestamp(room.modified_on),
            "next_event_start_time": upcoming_body.get("event_start_time"),
            "next_event_prequeue_start_time": upcoming_body.get("prequeue_start_time"),
        }
    )


async def load_room(connection: AsyncConnection, zone: Zone, room_id: str, *, for_update: bool = False) -> StoredRoom:
    """The room, or a 404 in the envelope."""
    room = await rooms.get_room(connection, zone.id, room_id, for_update=for_update) if is_id(room_id) else None
    if room is None:
        raise not_found("waiting room")
    return room


async def _save(
    db: DatabaseDep, zone: Zone, body: dict[str, Any], room_id: str | None, created_on: str | None, now: datetime
) -> Room:
    routes = check_room(body, zone)
    stamp = format_timestamp(now)
    async with write_transaction(db) as connection:
        if room_id is not None:
            await load_room(connection, zone, room_id, for_update=True)  # it may have gone since the caller read it
        await check_room_in_store(connection, zone, body, routes, room_id)
        stored = StoredRoom(
            id=room_id or new_id(), zone_id=zone.id, body=body, created_on=created_on or stamp, modified_on=stamp
        )
        if room_id is None:
            await rooms.insert_room(connection, stored, routes)
            event_list: list[events.StoredEvent] = []
        else:
            await rooms.replace_room(connection, stored, routes)
            event_list = await events.room_events(connection, stored.id)
    return room_result(stored, event_list, now)


@router.post("/zones/{zone_id}/waiting_rooms", response_model=Envelope[Room])
async def create_room(zone: AuthorizedZone, body: RoomInput, db: DatabaseDep, clock: ClockDep) -> Envelope[Room]:
    """Create a waiting room in the zone."""
    return Envelope(result=await _save(db, zone, body.model_dump(mode="json"), None, None, clock()))


@router.get("/zones/{zone_id}/waiting_rooms", response_model=ListEnvelope[Room])
async def list_zone_rooms(
    zone: AuthorizedZone, page: PageParams, db: DatabaseDep, clock: ClockDep
) -> ListEnvelope[Room]:
    """List the zone's waiting rooms, oldest first."""
    return await _list(db, [zone.id], page, clock())


@router.get("/accounts/{account_id}/waiting_rooms", response_model=ListEnvelope[Room])
async def list_account_rooms(
    account_id: str, token: Token, page: PageParams, db: DatabaseDep, clock: ClockDep
) -> ListEnvelope[Room]:
    """List the waiting rooms of every zone in the account the token may see."""
    async with db.connect() as connection:
        if not is_id(account_id) or not await accounts.account_exists(connection, account_id):
            raise ApiError(
                404,
                errors.UNKNOWN_ZONE,
                f"Could not route to /accounts/{account_id}, perhaps your object identifier is invalid?",
            )
        zone_ids = [
            zone.id
            for zone in await accounts.list_zones(connection)
            if zone.account_id == account_id and token.allows_zone(zone.id)
        ]
    return await _list(db, zone_ids, page, clock())


async def _list(db: DatabaseDep, zone_ids: list[str], page: PageParams, now: datetime) -> ListEnvelope[Room]:
    async with db.connect() as connection:
        found, total = await rooms.list_rooms(connection, zone_ids, page.offset, page.per_page)
        by_room = await events.events_of_rooms(connection, [room.id for room in found])
    results = [room_result(room, by_room[room.id], now) for room in found]
    return ListEnvelope(result=results, result_info=page.info(len(results), total))


@router.get("/zones/{zone_id}/waiting_rooms/{waiting_room_id}", response_model=Envelope[Room])
async def get_room(zone: AuthorizedZone, waiting_room_id: str, db: DatabaseDep, clock: ClockDep) -> Envelope[Room]:
    """Fetch one waiting room."""
    async with db.connect() as connection:
        room = await load_room(connection, zone, waiting_room_id)
        event_list = await events.room_events(connection, room.id)
    return Envelope(result=room_result(room, event_list, clock()))


@router.put("/zones/{zone_id}/waiting_rooms/{waiting_room_id}", response_model=Envelope[Room])
async def update_room(
    zone: AuthorizedZone, waiting_room_id: str, body: RoomInput, db: DatabaseDep, clock: ClockDep
) -> Envelope[Room]:
    """Replace a waiting room's configuration; fields left out return to their defaults."""
    async with db.connect() as connection:
        current = await load_room(connection, zone, waiting_room_id)
    return Envelope(result=await _save(db, zone, body.model_dump(mode="json"), current.id, current.created_on, clock()))


@router.patch("/zones/{zone_id}/waiting_rooms/{waiting_room_id}", response_model=Envelope[Room])
async def edit_room(
    zone: AuthorizedZone, waiting_room_id: str, body: RoomPatch, db: DatabaseDep, clock: ClockDep
) -> Envelope[Room]:
    """Change the given fields of a waiting room, keeping the rest."""
    async with db.connect() as connection:
        current = await load_room(connection, zone, waiting_room_id)
    merged = RoomInput.model_validate({**current.body, **body.model_dump(mode="json", exclude_unset=True)})
    return Envelope(
        result=await _save(db, zone, merged.model_dump(mode="json"), current.id, current.created_on, clock())
    )


@router.delete("/zones/{zone_id}/waiting_rooms/{waiting_room_id}", response_model=Envelope[DeletedObject])
async def delete_room(zone: AuthorizedZone, waiting_room_id: str, db: DatabaseDep) -> Envelope[DeletedObject]:
    """Delete a waiting room with its events and rules."""
    async with write_transaction(db) as connection:
        room = await load_room(connection, zone, waiting_room_id)
        await rooms.delete_room(connection, room.id)
    return Envelope(result=DeletedObject(id=room.id))
