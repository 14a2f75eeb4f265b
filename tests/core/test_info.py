"""The cfWaitingRoom object: Cloudflare's 25 names and types."""

from __future__ import annotations

from antechamber.core.config import EventSettings, RoomSettings, effective_config
from antechamber.core.counters import RoomSnapshot
from antechamber.core.info import Wait, build_info
from antechamber.core.ticket import Ticket
from tests.core.harness import MINUTE, T0, Room, room_config

FIELDS: dict[str, type] = {
    "inWaitingRoom": bool,
    "waitTimeKnown": bool,
    "waitTime": int,
    "waitTime25Percentile": int,
    "waitTime50Percentile": int,
    "waitTime75Percentile": int,
    "waitTimeFormatted": str,
    "queueIsFull": bool,
    "queueAll": bool,
    "lastUpdated": str,
    "refreshIntervalSeconds": int,
    "queueingMethod": str,
    "isFIFOQueue": bool,
    "isRandomQueue": bool,
    "isPassthroughQueue": bool,
    "isRejectQueue": bool,
    "isEventActive": bool,
    "isEventPrequeueing": bool,
    "timeUntilEventStart": int,
    "timeUntilEventStartFormatted": str,
    "timeUntilEventEnd": int,
    "timeUntilEventEndFormatted": str,
    "shuffleAtEventStart": bool,
    "turnstile": str,
    "infiniteQueue": bool,
}


def _queued_info() -> dict[str, object]:
    room = Room(room_config(total_active_users=1))
    room.arrive()
    (v,) = room.arrive()
    assert v.last is not None and v.last.info is not None
    return v.last.info.to_json_dict()


def test_json_has_exactly_cloudflares_names_and_types() -> None:
    """to_json_dict() returns exactly the 25 cfWaitingRoom keys, in Cloudflare's order, with their types."""
    data = _queued_info()
    assert list(data) == list(FIELDS)
    for name, kind in FIELDS.items():
        assert type(data[name]) is kind, name


def test_json_values_for_a_fifo_queue() -> None:
    """A FIFO queue outside events: in the room, method flags, 20 s refresh, event fields unavailable."""
    data = _queued_info()
    assert data["inWaitingRoom"] is True and data["queueingMethod"] == "fifo"
    assert (data["isFIFOQueue"], data["isRandomQueue"], data["isPassthroughQueue"], data["isRejectQueue"]) == (
        True,
        False,
        False,
        False,
    )
    assert data["refreshIntervalSeconds"] == 20 and data["isEventActive"] is False
    assert data["timeUntilEventStartFormatted"] == data["timeUntilEventEndFormatted"] == "unavailable"
    assert data["infiniteQueue"] is False and data["turnstile"] == ""


def test_last_updated_is_iso_8601_with_milliseconds() -> None:
    """lastUpdated is the last counted refresh in Cloudflare's format, e.g. 2027-01-15T08:00:00.123Z."""
    ticket = Ticket(arrival_ms=T0, position_s=T0 // 1000, rank=1, refresh_ms=T0 + 123)
    info = build_info(room_config(), RoomSnapshot(now_ms=T0), ticket, T0 + 500, Wait.UNKNOWN)
    assert info.to_json_dict()["lastUpdated"] == "2027-01-15T08:00:00.123Z"


def test_event_fields_while_running() -> None:
    """While an event runs: active, not prequeueing, minutes until its end, start unavailable."""
    room = RoomSettings(id="r", total_active_users=200, new_users_per_minute=200)
    ev = EventSettings(
        id="e",
        prequeue_start_time=T0 - 20 * MINUTE,
        event_start_time=T0 - 5 * MINUTE,
        event_end_time=T0 + 90 * MINUTE,
        shuffle_at_event_start=True,
    )
    cfg = effective_config(room, [ev], T0)
    ticket = Ticket(arrival_ms=T0, position_s=T0 // 1000, rank=1, refresh_ms=T0)
    data = build_info(cfg, RoomSnapshot(now_ms=T0), ticket, T0, Wait.ESTIMATE).to_json_dict()
    assert data["isEventActive"] is True and data["isEventPrequeueing"] is False
    assert data["timeUntilEventStart"] == 0 and data["timeUntilEventStartFormatted"] == "unavailable"
    assert data["timeUntilEventEnd"] == 90 and data["timeUntilEventEndFormatted"] == "1 hour 30 minutes"
    assert data["shuffleAtEventStart"] is True
