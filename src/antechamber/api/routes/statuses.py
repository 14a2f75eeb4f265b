"""A room's live status."""

from __future__ import annotations

from fastapi import APIRouter

from antechamber.api.auth import AuthorizedZone
from antechamber.api.context import ClockDep, DatabaseDep, StatusSourceDep
from antechamber.api.envelope import ERROR_RESPONSES, Envelope
from antechamber.api.models.zone import RoomStatus
from antechamber.api.routes.rooms import load_room
from antechamber.api.schedule import EventWindow
from antechamber.api.status import room_status
from antechamber.db import events

router = APIRouter(tags=["status"], responses=ERROR_RESPONSES)


@router.get("/zones/{zone_id}/waiting_rooms/{waiting_room_id}/status", response_model=Envelope[RoomStatus])
async def get_status(
    zone: AuthorizedZone, waiting_room_id: str, db: DatabaseDep, clock: ClockDep, source: StatusSourceDep
) -> Envelope[RoomStatus]:
    """Whether the room is queueing, prequeueing or suspended, with live estimates."""
    async with db.connect() as connection:
        room = await load_room(connection, zone, waiting_room_id)
        event_list = await events.room_events(connection, room.id)
    numbers = await source.live_numbers(room.id)
    windows = [EventWindow.of(event.id, event.body) for event in event_list]
    return Envelope(result=room_status(room.body, windows, numbers, clock()))
