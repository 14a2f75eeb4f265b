"""The room status endpoint: not_queueing, suspended and event_prequeueing, with the current event id."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import cloudflare
from cloudflare.types.waiting_rooms import StatusGetResponse

from tests.sdk.support import ApiServer, iso, new_room, now, unique


def status(cf: cloudflare.Cloudflare, api_server: ApiServer, room_id: str) -> StatusGetResponse:
    """The room's status (never None)."""
    result = cf.waiting_rooms.statuses.get(room_id, zone_id=api_server.zone_id)
    assert result is not None
    return result


def prequeueing_event(cf: cloudflare.Cloudflare, api_server: ApiServer, room_id: str, suspended: bool = False) -> str:
    """Create an event whose prequeue began a minute ago and which starts in ten minutes; return its id."""
    start = now() + timedelta(minutes=10)
    event = cf.waiting_rooms.events.create(
        room_id,
        zone_id=api_server.zone_id,
        name=unique("event"),
        prequeue_start_time=iso(now() - timedelta(minutes=1)),
        event_start_time=iso(start),
        event_end_time=iso(start + timedelta(hours=1)),
        suspended=suspended,
    )
    assert event is not None and event.id
    return event.id


class TestStatus:
    def test_fresh_room(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A fresh room without traffic is not_queueing, with no event and zero estimates."""
        room = new_room(cf, api_server.zone_id)
        assert {
            "status": "not_queueing",
            "event_id": "",
            "estimated_queued_users": 0,
            "estimated_total_active_users": 0,
            "max_estimated_time_minutes": 0,
            # Antechamber's addition, which the SDK keeps: the (in-process) store behind the numbers.
            "state_store": {
                "backend": "memory",
                "healthy": True,
                "failing_since": None,
                "policy": "hold",
                "open": False,
            },
        } == status(cf, api_server, str(room.id)).model_dump()

    def test_wire_fields(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """The raw status result carries all five documented keys."""
        room = new_room(cf, api_server.zone_id)
        raw = cf.waiting_rooms.statuses.with_raw_response.get(str(room.id), zone_id=api_server.zone_id)
        assert set(StatusGetResponse.model_fields) <= set(raw.http_response.json()["result"])

    def test_suspended_room(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A suspended room reports suspended."""
        room = new_room(cf, api_server.zone_id, suspended=True)
        assert "suspended" == status(cf, api_server, str(room.id)).status

    def test_suspending_later(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Suspending a room with PATCH turns its status to suspended and un-suspending turns it back."""
        room = new_room(cf, api_server.zone_id)
        rid = str(room.id)
        common: dict[str, Any] = {"name": str(room.name), "host": str(room.host), "total_active_users": 300}
        cf.waiting_rooms.edit(rid, zone_id=api_server.zone_id, new_users_per_minute=200, suspended=True, **common)
        assert "suspended" == status(cf, api_server, rid).status
        cf.waiting_rooms.edit(rid, zone_id=api_server.zone_id, new_users_per_minute=200, suspended=False, **common)
        assert "not_queueing" == status(cf, api_server, rid).status

    def test_event_prequeueing(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """While an event's prequeue window contains now, the room is event_prequeueing with that event's id."""
        room = new_room(cf, api_server.zone_id)
        event_id = prequeueing_event(cf, api_server, str(room.id))
        result = status(cf, api_server, str(room.id))
        assert ("event_prequeueing", event_id) == (result.status, result.event_id)

    def test_suspended_event_is_ignored(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A suspended event in its prequeue window does not make the room prequeue."""
        room = new_room(cf, api_server.zone_id)
        prequeueing_event(cf, api_server, str(room.id), suspended=True)
        result = status(cf, api_server, str(room.id))
        assert ("not_queueing", "") == (result.status, result.event_id)

    def test_suspended_room_beats_event(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Events never activate while the room is suspended: the status stays suspended."""
        room = new_room(cf, api_server.zone_id, suspended=True)
        prequeueing_event(cf, api_server, str(room.id))
        assert "suspended" == status(cf, api_server, str(room.id)).status

    def test_running_event_id(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """While an event runs (after its start), the status names it and the room is not prequeueing."""
        room = new_room(cf, api_server.zone_id)
        event = cf.waiting_rooms.events.create(
            str(room.id),
            zone_id=api_server.zone_id,
            name=unique("event"),
            event_start_time=iso(now() - timedelta(minutes=2)),
            event_end_time=iso(now() + timedelta(hours=1)),
        )
        assert event is not None
        result = status(cf, api_server, str(room.id))
        assert ("not_queueing", event.id) == (result.status, result.event_id)
