"""Scheduled events: create, get, list, update (PUT), edit (PATCH), delete, details."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncConnection

from antechamber.api.auth import AuthorizedZone
from antechamber.api.context import ClockDep, DatabaseDep, write_transaction
from antechamber.api.envelope import ERROR_RESPONSES, Envelope, ListEnvelope
from antechamber.api.errors import not_found
from antechamber.api.event_checks import check_event, check_event_in_store
from antechamber.api.models.event import OVERRIDE_FIELDS, Event, EventDetails, EventInput, EventPatch
from antechamber.api.models.room import DeletedObject
from antechamber.api.pagination import PageParams
from antechamber.api.routes.rooms import load_room
from antechamber.db import events
from antechamber.db.accounts import Zone
from antechamber.db.events import StoredEvent
from antechamber.db.ids import format_timestamp, is_id, new_id, parse_timestamp

router = APIRouter(tags=["events"], responses=ERROR_RESPONSES)
COLLECTION = "/zones/{zone_id}/waiting_rooms/{waiting_room_id}/events"
ITEM = COLLECTION + "/{event_id}"


def event_result(event: StoredEvent) -> Event:
    """The API shape of a stored event."""
    return Event.model_validate(
        {
            **event.body,
            "id": event.id,
            "created_on": parse_timestamp(event.created_on),
            "modified_on": parse_timestamp(event.modified_on),
        }
    )


async def load_event(connection: AsyncConnection, room_id: str, event_id: str) -> StoredEvent:
    found = next((e for e in await events.room_events(connection, room_id) if e.id == event_id), None)
    if found is None or not is_id(event_id):
        raise not_found("event")
    return found


async def _save(
    db: DatabaseDep, zone: Zone, room_id: str, body: dict[str, Any], current: StoredEvent | None, now: datetime
) -> Event:
    event_id = new_id() if current is None else current.id
    window = check_event(body, event_id)
    stamp = format_timestamp(now)
    async with write_transaction(db) as connection:
        room = await load_room(connection, zone, room_id, for_update=True)
        if current is not None:
            await load_event(connection, room.id, current.id)
        await check_event_in_store(connection, room.id, body, window, creating=current is None)
        stored = StoredEvent(
            id=event_id,
            room_id=room.id,
            body=body,
            created_on=stamp if current is None else current.created_on,
            modified_on=stamp,
        )
        if current is None:
            await events.insert_event(connection, stored)
        else:
            await events.replace_event(connection, stored)
    return event_result(stored)


@router.post(COLLECTION, response_model=Envelope[Event])
async def create_event(
    zone: AuthorizedZone, waiting_room_id: str, body: EventInput, db: DatabaseDep, clock: ClockDep
) -> Envelope[Event]:
    """Schedule an event for the room."""
    return Envelope(result=await _save(db, zone, waiting_room_id, body.model_dump(mode="json"), None, clock()))


@router.get(COLLECTION, response_model=ListEnvelope[Event])
async def list_events(
    zone: AuthorizedZone, waiting_room_id: str, page: PageParams, db: DatabaseDep
) -> ListEnvelope[Event]:
    """List the room's events, oldest first."""
    async with db.connect() as connection:
        room = await load_room(connection, zone, waiting_room_id)
        every = await events.room_events(connection, room.id)
    chosen = every[page.offset : page.offset + page.per_page]
    return ListEnvelope(result=[event_result(e) for e in chosen], result_info=page.info(len(chosen), len(every)))


@router.get(ITEM, response_model=Envelope[Event])
async def get_event(zone: AuthorizedZone, waiting_room_id: str, event_id: str, db: DatabaseDep) -> Envelope[Event]:
    """Fetch one event as stored (null overrides stay null)."""
    async with db.connect() as connection:
        room = await load_room(connection, zone, waiting_room_id)
        event = await load_event(connection, room.id, event_id)
    return Envelope(result=event_result(event))


@router.get(ITEM + "/details", response_model=Envelope[EventDetails])
async def get_event_details(
    zone: AuthorizedZone, waiting_room_id: str, event_id: str, db: DatabaseDep
) -> Envelope[EventDetails]:
    """Preview the event as if it were active: null overrides take the room's current values."""
    async with db.connect() as connection:
        room = await load_room(connection, zone, waiting_room_id)
        event = await load_event(connection, room.id, event_id)
    filled = event_result(event).model_dump()
    for name in OVERRIDE_FIELDS:
        if filled[name] is None:
            filled[name] = room.body[name]
    return Envelope(result=EventDetails.model_validate(filled))


@router.put(ITEM, response_model=Envelope[Event])
async def update_event(
    zone: AuthorizedZone, waiting_room_id: str, event_id: str, body: EventInput, db: DatabaseDep, clock: ClockDep
) -> Envelope[Event]:
    """Replace an event; fields left out return to their defaults."""
    async with db.connect() as connection:
        room = await load_room(connection, zone, waiting_room_id)
        current = await load_event(connection, room.id, event_id)
    return Envelope(result=await _save(db, zone, room.id, body.model_dump(mode="json"), current, clock()))


@router.patch(ITEM, response_model=Envelope[Event])
async def edit_event(
    zone: AuthorizedZone, waiting_room_id: str, event_id: str, body: EventPatch, db: DatabaseDep, clock: ClockDep
) -> Envelope[Event]:
    """Change the given fields of an event, keeping the rest."""
    async with db.connect() as connection:
        room = await load_room(connection, zone, waiting_room_id)
        current = await load_event(connection, room.id, event_id)
    merged = EventInput.model_validate({**current.body, **body.model_dump(mode="json", exclude_unset=True)})
    return Envelope(result=await _save(db, zone, room.id, merged.model_dump(mode="json"), current, clock()))


@router.delete(ITEM, response_model=Envelope[DeletedObject])
async def delete_event(
    zone: AuthorizedZone, waiting_room_id: str, event_id: str, db: DatabaseDep
) -> Envelope[DeletedObject]:
    """Delete an event."""
    async with write_transaction(db) as connection:
        room = await load_room(connection, zone, waiting_room_id)
        event = await load_event(connection, room.id, event_id)
        await events.delete_event(connection, event.id)
    return Envelope(result=DeletedObject(id=event.id))
