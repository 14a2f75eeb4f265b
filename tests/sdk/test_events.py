"""Scheduled events: create, get, list, update, edit, delete, details and the room's next-event fields."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import cloudflare
from cloudflare.types.waiting_rooms import Event

from tests.sdk.support import (
    HEX32,
    ApiServer,
    edit_event,
    info,
    iso,
    new_event,
    new_room,
    now,
    parse_ts,
    raises,
    unique,
)

#: The event fields that default to null, meaning "inherit the room's current value".
OVERRIDES = (
    "custom_page_html",
    "disable_session_renewal",
    "new_users_per_minute",
    "queueing_method",
    "session_duration",
    "total_active_users",
    "turnstile_action",
    "turnstile_mode",
)
TIMES = ("event_start_time", "event_end_time", "prequeue_start_time")


def comparable(event: Event) -> dict[str, Any]:
    """The event's writable fields, timestamps turned into instants so formatting does not matter."""
    dumped = event.model_dump(mode="json", exclude={"id", "created_on", "modified_on"})
    for key in TIMES:
        if dumped.get(key) is not None:
            dumped[key] = parse_ts(dumped[key])
    return dumped


def full_event_fields() -> dict[str, Any]:
    """A value for every writable event field, none of them the default."""
    start = now() + timedelta(hours=3)
    return {
        "name": unique("event"),
        "description": "Launch day",
        "prequeue_start_time": iso(start - timedelta(minutes=30)),
        "event_start_time": iso(start),
        "event_end_time": iso(start + timedelta(hours=2)),
        "shuffle_at_event_start": True,
        "suspended": True,
        "custom_page_html": "<p>event {{waitTime}}</p>",
        "disable_session_renewal": True,
        "new_users_per_minute": 500,
        "total_active_users": 900,
        "queueing_method": "random",
        "session_duration": 20,
        "turnstile_action": "infinite_queue",
        "turnstile_mode": "visible_non_interactive",
    }


def expected(fields: dict[str, Any]) -> dict[str, Any]:
    """What the API returns for ``fields``: defaults for the rest, timestamps as instants."""
    defaults: dict[str, Any] = {key: None for key in OVERRIDES}
    defaults.update(description="", suspended=False, shuffle_at_event_start=False, prequeue_start_time=None)
    merged = {**defaults, **fields}
    for key in TIMES:
        if merged.get(key) is not None:
            merged[key] = parse_ts(merged[key])
    return merged


class TestCreateAndGet:
    def test_defaults(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """An event created with only name and times inherits everything (null overrides) and is not suspended."""
        room = new_room(cf, api_server.zone_id)
        start = now() + timedelta(hours=1)
        fields: dict[str, Any] = {
            "name": unique("event"),
            "event_start_time": iso(start),
            "event_end_time": iso(start + timedelta(hours=1)),
        }
        event = cf.waiting_rooms.events.create(str(room.id), zone_id=api_server.zone_id, **fields)
        assert event is not None
        assert expected(fields) == comparable(event)

    def test_read_only_fields(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """An event gets a 32-hex id and aware created_on/modified_on timestamps."""
        room = new_room(cf, api_server.zone_id)
        event = new_event(cf, api_server.zone_id, str(room.id))
        assert event.id is not None and HEX32.match(event.id)
        assert event.created_on is not None and event.created_on.tzinfo is not None
        assert event.modified_on is not None and event.modified_on >= event.created_on

    def test_every_field_round_trips(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Every writable event field comes back as sent from create, get and list."""
        room = new_room(cf, api_server.zone_id)
        fields = full_event_fields()
        event = cf.waiting_rooms.events.create(str(room.id), zone_id=api_server.zone_id, **fields)
        assert event is not None and event.id
        assert expected(fields) == comparable(event)
        fetched = cf.waiting_rooms.events.get(event.id, zone_id=api_server.zone_id, waiting_room_id=str(room.id))
        assert fetched is not None and expected(fields) == comparable(fetched)
        listed = list(cf.waiting_rooms.events.list(str(room.id), zone_id=api_server.zone_id))
        assert [event.id] == [e.id for e in listed]
        assert expected(fields) == comparable(listed[0])

    def test_timestamps_are_iso8601_utc(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Event times come back as ISO 8601 strings for the same instants, whatever offset was sent."""
        room = new_room(cf, api_server.zone_id)
        start = now() + timedelta(hours=5)
        event = cf.waiting_rooms.events.create(
            str(room.id),
            zone_id=api_server.zone_id,
            name=unique("event"),
            event_start_time=start.astimezone(timezone(timedelta(hours=2))).isoformat(),
            event_end_time=iso(start + timedelta(hours=1)),
        )
        assert event is not None
        assert start == parse_ts(event.event_start_time)
        assert start + timedelta(hours=1) == parse_ts(event.event_end_time)

    def test_event_is_per_room(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """An event belongs to its room: another room's event list does not show it and cannot fetch it."""
        room, other = new_room(cf, api_server.zone_id), new_room(cf, api_server.zone_id)
        event = new_event(cf, api_server.zone_id, str(room.id))
        assert [] == list(cf.waiting_rooms.events.list(str(other.id), zone_id=api_server.zone_id))
        raises(
            cloudflare.NotFoundError,
            lambda: cf.waiting_rooms.events.get(
                str(event.id), zone_id=api_server.zone_id, waiting_room_id=str(other.id)
            ),
        )


class TestList:
    def test_pagination(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Five events list as one full page of 5 with result_info, an empty page 2, and auto-pagination finds all."""
        room = new_room(cf, api_server.zone_id)
        rid = str(room.id)
        ids = {str(new_event(cf, api_server.zone_id, rid, start_in=timedelta(hours=2 + 3 * i)).id) for i in range(5)}
        first = cf.waiting_rooms.events.list(rid, zone_id=api_server.zone_id, page=1, per_page=5)
        assert ids == {str(e.id) for e in first.result}
        assert {"page": 1, "per_page": 5, "count": 5, "total_count": 5}.items() <= info(first).items()
        second = cf.waiting_rooms.events.list(rid, zone_id=api_server.zone_id, page=2, per_page=5)
        assert [] == second.result
        assert {"page": 2, "per_page": 5, "count": 0, "total_count": 5}.items() <= info(second).items()
        walked = [str(e.id) for e in cf.waiting_rooms.events.list(rid, zone_id=api_server.zone_id, per_page=5)]
        assert sorted(ids) == sorted(walked)

    def test_empty(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A room without events lists an empty page with total_count 0."""
        room = new_room(cf, api_server.zone_id)
        page = cf.waiting_rooms.events.list(str(room.id), zone_id=api_server.zone_id)
        assert [] == page.result
        assert 0 == info(page)["total_count"]


class TestUpdateEditDelete:
    def test_put_replaces(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """PUT on an event resets every field it does not send (overrides back to null)."""
        room = new_room(cf, api_server.zone_id)
        rid = str(room.id)
        event = cf.waiting_rooms.events.create(rid, zone_id=api_server.zone_id, **full_event_fields())
        assert event is not None and event.id
        start = now() + timedelta(hours=4)
        fields: dict[str, Any] = {
            "name": unique("event"),
            "event_start_time": iso(start),
            "event_end_time": iso(start + timedelta(hours=1)),
        }
        updated = cf.waiting_rooms.events.update(event.id, zone_id=api_server.zone_id, waiting_room_id=rid, **fields)
        assert updated is not None
        assert expected(fields) == comparable(updated)
        assert event.id == updated.id and event.created_on == updated.created_on
        fetched = cf.waiting_rooms.events.get(event.id, zone_id=api_server.zone_id, waiting_room_id=rid)
        assert fetched is not None and expected(fields) == comparable(fetched)

    def test_patch_merges(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """PATCH on an event changes what it sends and keeps every other field."""
        room = new_room(cf, api_server.zone_id)
        rid = str(room.id)
        fields = full_event_fields()
        event = cf.waiting_rooms.events.create(rid, zone_id=api_server.zone_id, **fields)
        assert event is not None and event.id
        edited = cf.waiting_rooms.events.edit(
            event.id,
            zone_id=api_server.zone_id,
            waiting_room_id=rid,
            name=fields["name"],
            event_start_time=fields["event_start_time"],
            event_end_time=fields["event_end_time"],
            description="moved",
            session_duration=9,
        )
        assert edited is not None
        assert expected({**fields, "description": "moved", "session_duration": 9}) == comparable(edited)

    def test_patch_null_restores_inheritance(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """PATCH with an explicit null clears an override so the event inherits the room's value again."""
        room = new_room(cf, api_server.zone_id, session_duration=6)
        rid = str(room.id)
        event = new_event(cf, api_server.zone_id, rid, session_duration=15)
        assert 15 == event.session_duration
        edited = edit_event(cf, api_server.zone_id, rid, event, session_duration=None)
        assert edited is not None and edited.session_duration is None
        details = cf.waiting_rooms.events.details.get(str(event.id), zone_id=api_server.zone_id, waiting_room_id=rid)
        assert details is not None and 6 == details.session_duration

    def test_delete(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """DELETE returns the event id; afterwards get and details are 404 and the list is empty."""
        room = new_room(cf, api_server.zone_id)
        rid = str(room.id)
        event = new_event(cf, api_server.zone_id, rid)
        eid = str(event.id)
        deleted = cf.waiting_rooms.events.delete(eid, zone_id=api_server.zone_id, waiting_room_id=rid)
        assert deleted is not None and eid == deleted.id
        raises(
            cloudflare.NotFoundError,
            lambda: cf.waiting_rooms.events.get(eid, zone_id=api_server.zone_id, waiting_room_id=rid),
        )
        raises(
            cloudflare.NotFoundError,
            lambda: cf.waiting_rooms.events.details.get(eid, zone_id=api_server.zone_id, waiting_room_id=rid),
        )
        assert [] == list(cf.waiting_rooms.events.list(rid, zone_id=api_server.zone_id))


class TestDetails:
    def test_inherits_room_values(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Details fill every null override with the room's value and keep the event's own overrides."""
        room = new_room(
            cf,
            api_server.zone_id,
            total_active_users=1000,
            new_users_per_minute=300,
            session_duration=7,
            queueing_method="random",
            custom_page_html="<p>room page</p>",
            disable_session_renewal=True,
        )
        rid = str(room.id)
        event = new_event(cf, api_server.zone_id, rid, session_duration=12, description="d")
        details = cf.waiting_rooms.events.details.get(str(event.id), zone_id=api_server.zone_id, waiting_room_id=rid)
        assert details is not None
        assert {
            "id": event.id,
            "name": event.name,
            "description": "d",
            "session_duration": 12,
            "total_active_users": 1000,
            "new_users_per_minute": 300,
            "queueing_method": "random",
            "custom_page_html": "<p>room page</p>",
            "disable_session_renewal": True,
            "suspended": False,
            "shuffle_at_event_start": False,
        }.items() <= details.model_dump().items()
        assert parse_ts(event.event_start_time) == parse_ts(details.event_start_time)
        assert parse_ts(event.event_end_time) == parse_ts(details.event_end_time)
        # The event itself still says "inherit".
        again = cf.waiting_rooms.events.get(str(event.id), zone_id=api_server.zone_id, waiting_room_id=rid)
        assert again is not None and again.total_active_users is None and again.queueing_method is None

    def test_follows_later_room_edits(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Inherited values in details track the room's current values after the room is edited."""
        room = new_room(cf, api_server.zone_id, queueing_method="fifo", session_duration=5)
        rid = str(room.id)
        event = new_event(cf, api_server.zone_id, rid)
        cf.waiting_rooms.edit(
            rid,
            zone_id=api_server.zone_id,
            name=str(room.name),
            host=str(room.host),
            total_active_users=2000,
            new_users_per_minute=700,
            queueing_method="reject",
            session_duration=25,
        )
        details = cf.waiting_rooms.events.details.get(str(event.id), zone_id=api_server.zone_id, waiting_room_id=rid)
        assert details is not None
        assert ("reject", 25, 2000, 700) == (
            details.queueing_method,
            details.session_duration,
            details.total_active_users,
            details.new_users_per_minute,
        )

    def test_event_limits_override_room(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """An event that sets both user limits shows its own limits in details, not the room's."""
        room = new_room(cf, api_server.zone_id, total_active_users=1000, new_users_per_minute=300)
        rid = str(room.id)
        event = new_event(cf, api_server.zone_id, rid, total_active_users=5000, new_users_per_minute=2500)
        details = cf.waiting_rooms.events.details.get(str(event.id), zone_id=api_server.zone_id, waiting_room_id=rid)
        assert details is not None
        assert (5000, 2500) == (details.total_active_users, details.new_users_per_minute)


class TestNextEventFields:
    def test_next_event_times(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """The room reports the earliest upcoming event's start and prequeue times, and null once none is left."""
        room = new_room(cf, api_server.zone_id)
        rid = str(room.id)
        soon_start = now() + timedelta(hours=2)
        later = new_event(cf, api_server.zone_id, rid, start_in=timedelta(hours=6))
        soon = cf.waiting_rooms.events.create(
            rid,
            zone_id=api_server.zone_id,
            name=unique("event"),
            prequeue_start_time=iso(soon_start - timedelta(minutes=15)),
            event_start_time=iso(soon_start),
            event_end_time=iso(soon_start + timedelta(hours=1)),
        )
        assert soon is not None
        fetched = cf.waiting_rooms.get(rid, zone_id=api_server.zone_id)
        assert fetched is not None
        assert soon_start == parse_ts(fetched.next_event_start_time)
        assert soon_start - timedelta(minutes=15) == parse_ts(fetched.next_event_prequeue_start_time)

        cf.waiting_rooms.events.delete(str(soon.id), zone_id=api_server.zone_id, waiting_room_id=rid)
        fetched = cf.waiting_rooms.get(rid, zone_id=api_server.zone_id)
        assert fetched is not None
        assert parse_ts(later.event_start_time) == parse_ts(fetched.next_event_start_time)
        assert fetched.next_event_prequeue_start_time is None

        cf.waiting_rooms.events.delete(str(later.id), zone_id=api_server.zone_id, waiting_room_id=rid)
        fetched = cf.waiting_rooms.get(rid, zone_id=api_server.zone_id)
        assert fetched is not None
        assert (None, None) == (fetched.next_event_start_time, fetched.next_event_prequeue_start_time)

    def test_suspended_event_is_not_next(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A suspended event is ignored: the room's next event is the first upcoming one that is not suspended."""
        room = new_room(cf, api_server.zone_id)
        rid = str(room.id)
        new_event(cf, api_server.zone_id, rid, start_in=timedelta(hours=2), suspended=True)
        later = new_event(cf, api_server.zone_id, rid, start_in=timedelta(hours=5))
        fetched = cf.waiting_rooms.get(rid, zone_id=api_server.zone_id)
        assert fetched is not None
        assert parse_ts(later.event_start_time) == parse_ts(fetched.next_event_start_time)

    def test_next_event_in_list(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """The computed next-event time appears in list results as well as in get."""
        room = new_room(cf, api_server.zone_id)
        event = new_event(cf, api_server.zone_id, str(room.id), start_in=timedelta(hours=8))
        listed = {r.id: r for r in cf.waiting_rooms.list(zone_id=api_server.zone_id, per_page=100)}
        assert parse_ts(event.event_start_time) == parse_ts(listed[room.id].next_event_start_time)
