"""Refusals: invalid rooms and events are 400s, unknown objects 404s, and a refusal changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import cloudflare
import httpx
import pytest

from tests.sdk.support import (
    ApiServer,
    assert_cloudflare_error,
    edit_event,
    iso,
    new_event,
    new_room,
    now,
    raises,
    room_snapshot,
    unique,
    unique_host,
)

#: The server's codes for a rejected request body (see antechamber.api.errors): bad JSON,
#: a bad value, a missing field, a rule spanning fields or objects.
BAD_REQUEST_CODES = {1001, 1002, 1003, 1004}
NOT_FOUND = 1005
SETTINGS_ZONE = "settings.test"


def valid_room(**fields: Any) -> dict[str, Any]:
    """A valid room body for the settings.test zone, with ``fields`` overriding it."""
    base: dict[str, Any] = {
        "name": unique(),
        "host": unique_host(SETTINGS_ZONE),
        "total_active_users": 300,
        "new_users_per_minute": 200,
    }
    return {**base, **fields}


def rejects(cf: cloudflare.Cloudflare, zone_id: str, call: Callable[[], object]) -> tuple[int, str]:
    """``call`` raises BadRequestError in Cloudflare's envelope and leaves the zone's rooms as they were."""
    before = room_snapshot(cf, zone_id)
    error = raises(cloudflare.BadRequestError, call)
    code, message = assert_cloudflare_error(error, 400)
    assert code in BAD_REQUEST_CODES
    assert before == room_snapshot(cf, zone_id)
    return code, message


HOST = "placeholder"  # replaced per test by a fresh host in the zone
INVALID_ROOMS: dict[str, dict[str, Any]] = {
    "total_active_users below 200": {"total_active_users": 199},
    "new_users_per_minute below 200": {"new_users_per_minute": 199},
    "total_active_users above int32": {"total_active_users": 2_147_483_648},
    "new_users_per_minute above total_active_users": {"total_active_users": 300, "new_users_per_minute": 301},
    "session_duration 31": {"session_duration": 31},
    "session_duration 0": {"session_duration": 0},
    "name with space and bang": {"name": "bad name!"},
    "name empty": {"name": ""},
    "name non-ascii": {"name": "caf\u00e9"},
    "host with https scheme": {"host": f"https://{HOST}"},
    "host with http scheme": {"host": f"http://{HOST}"},
    "wildcard host": {"host": f"*.{SETTINGS_ZONE}"},
    "host outside the zone": {"host": "shop.example.org"},
    "host sharing only a suffix": {"host": f"evil{SETTINGS_ZONE}"},
    "host with port": {"host": f"{HOST}:8443"},
    "host with path": {"host": f"{HOST}/shop"},
    "path without leading slash": {"path": "shop"},
    "path with wildcard": {"path": "/shop/*"},
    "path with query": {"path": "/shop?x=1"},
    "queueing_status_code 201": {"queueing_status_code": 201},
    "queueing_method unknown": {"queueing_method": "lottery"},
    "template language unknown": {"default_template_language": "xx-XX"},
    "turnstile_mode unknown": {"turnstile_mode": "sometimes"},
    "turnstile_action unknown": {"turnstile_action": "block"},
    "cookie samesite unknown": {"cookie_attributes": {"samesite": "sometimes", "secure": "auto"}},
    "origin command unknown": {"enabled_origin_commands": ["explode"]},
    "cookie_suffix breaking the cookie header": {"cookie_suffix": "x; Domain=evil.example"},
    "total_active_users not a number": {"total_active_users": "many"},
    "session_duration fractional": {"session_duration": 5.5},
    "additional_routes without cookie_suffix": {"additional_routes": [{"host": HOST, "path": "/extra"}]},
    "additional route outside the zone": {
        "cookie_suffix": "x",
        "additional_routes": [{"host": "shop.example.org", "path": "/"}],
    },
    "additional route with scheme": {"cookie_suffix": "x", "additional_routes": [{"host": f"https://{HOST}"}]},
    "additional route repeating the primary": {
        "cookie_suffix": "x",
        "additional_routes": [{"host": HOST, "path": "/"}],
    },
}


def fill_host(value: Any, host: str) -> Any:
    """Replace the ``HOST`` placeholder inside nested test data."""
    if isinstance(value, str):
        return value.replace(HOST, host)
    if isinstance(value, list):
        return [fill_host(item, host) for item in value]
    if isinstance(value, dict):
        return {key: fill_host(item, host) for key, item in value.items()}
    return value


class TestInvalidRoom:
    @pytest.mark.parametrize("case", list(INVALID_ROOMS))
    def test_create_rejected(self, cf: cloudflare.Cloudflare, api_server: ApiServer, case: str) -> None:
        """Creating a room with an invalid value is a 400 and stores nothing."""
        host = unique_host(SETTINGS_ZONE)
        body = valid_room(**{"host": host, **fill_host(INVALID_ROOMS[case], host)})
        rejects(
            cf,
            api_server.settings_zone_id,
            lambda: cf.waiting_rooms.create(zone_id=api_server.settings_zone_id, **body),
        )

    def test_put_rejected(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A PUT with session_duration 31 is a 400 and the room keeps its old configuration."""
        room = new_room(cf, api_server.settings_zone_id, SETTINGS_ZONE)
        body: dict[str, Any] = {
            "name": room.name,
            "host": room.host,
            "total_active_users": 300,
            "new_users_per_minute": 200,
        }
        rejects(
            cf,
            api_server.settings_zone_id,
            lambda: cf.waiting_rooms.update(
                str(room.id), zone_id=api_server.settings_zone_id, session_duration=31, **body
            ),
        )

    def test_patch_rejected(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A PATCH with total_active_users 199 is a 400 and the room keeps its old configuration."""
        room = new_room(cf, api_server.settings_zone_id, SETTINGS_ZONE)
        rejects(
            cf,
            api_server.settings_zone_id,
            lambda: cf.waiting_rooms.edit(
                str(room.id),
                zone_id=api_server.settings_zone_id,
                name=str(room.name),
                host=str(room.host),
                total_active_users=199,
                new_users_per_minute=200,
            ),
        )

    def test_patch_dropping_cookie_suffix(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A PATCH that empties cookie_suffix on a room with additional routes is a 400 (merged body is checked)."""
        zone = api_server.settings_zone_id
        room = new_room(
            cf, zone, SETTINGS_ZONE, cookie_suffix="keep", additional_routes=[{"host": unique_host(SETTINGS_ZONE)}]
        )
        rejects(
            cf,
            zone,
            lambda: cf.waiting_rooms.edit(
                str(room.id),
                zone_id=zone,
                name=str(room.name),
                host=str(room.host),
                total_active_users=300,
                new_users_per_minute=200,
                cookie_suffix="",
            ),
        )

    def test_missing_required_field(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A create body without total_active_users is a 400 naming the field."""
        body = valid_room()
        del body["total_active_users"]
        zone = api_server.settings_zone_id
        code, message = rejects(cf, zone, lambda: cf.post(f"/zones/{zone}/waiting_rooms", body=body, cast_to=object))
        assert "total_active_users" in message

    def test_malformed_json(self, api_server: ApiServer) -> None:
        """A body that is not JSON is a 400 in Cloudflare's envelope."""
        response = httpx.post(
            f"{api_server.base_url}/zones/{api_server.settings_zone_id}/waiting_rooms",
            content=b"{not json",
            headers={"Authorization": f"Bearer {api_server.write_token}", "Content-Type": "application/json"},
            timeout=30,
        )
        assert 400 == response.status_code
        body = response.json()
        assert body["success"] is False and body["result"] is None and body["errors"][0]["code"] in BAD_REQUEST_CODES


class TestUniqueness:
    def test_duplicate_name(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A second room with a name already used in the zone is a 400."""
        zone = api_server.settings_zone_id
        room = new_room(cf, zone, SETTINGS_ZONE)
        rejects(cf, zone, lambda: cf.waiting_rooms.create(zone_id=zone, **valid_room(name=room.name)))

    def test_duplicate_routes(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A host+path pair used by any room, as primary or additional route, cannot be used again."""
        zone = api_server.settings_zone_id
        primary, extra = unique_host(SETTINGS_ZONE), unique_host(SETTINGS_ZONE)
        new_room(
            cf,
            zone,
            SETTINGS_ZONE,
            host=primary,
            path="/a",
            cookie_suffix="owner",
            additional_routes=[{"host": extra, "path": "/b"}],
        )
        clashes: dict[str, dict[str, Any]] = {
            "same primary": {"host": primary, "path": "/a"},
            "same primary, host in upper case": {"host": primary.upper(), "path": "/a"},
            "primary equal to an additional route": {"host": extra, "path": "/b"},
            "additional route equal to a primary": {
                "cookie_suffix": "other",
                "additional_routes": [{"host": primary, "path": "/a"}],
            },
            "additional route equal to an additional route": {
                "cookie_suffix": "other",
                "additional_routes": [{"host": extra, "path": "/b"}],
            },
        }
        for clash in clashes.values():
            body = valid_room(**clash)
            rejects(cf, zone, lambda body=body: cf.waiting_rooms.create(zone_id=zone, **body))  # type: ignore[misc]

    def test_edit_onto_taken_route(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Moving a room onto another room's route with PATCH is a 400 and leaves it where it was."""
        zone = api_server.settings_zone_id
        taken = new_room(cf, zone, SETTINGS_ZONE, path="/taken")
        mover = new_room(cf, zone, SETTINGS_ZONE)
        rejects(
            cf,
            zone,
            lambda: cf.waiting_rooms.edit(
                str(mover.id),
                zone_id=zone,
                name=str(mover.name),
                host=str(taken.host),
                path="/taken",
                total_active_users=300,
                new_users_per_minute=200,
            ),
        )


def event_snapshot(cf: cloudflare.Cloudflare, zone_id: str, room_id: str) -> list[dict[str, Any]]:
    """Every event of the room as plain dicts."""
    return [event.model_dump() for event in cf.waiting_rooms.events.list(room_id, zone_id=zone_id)]


def rejects_event(cf: cloudflare.Cloudflare, zone_id: str, room_id: str, call: Callable[[], object]) -> str:
    """``call`` raises BadRequestError and the room's events are as they were; return the message."""
    before = event_snapshot(cf, zone_id, room_id)
    error = raises(cloudflare.BadRequestError, call)
    code, message = assert_cloudflare_error(error, 400)
    assert code in BAD_REQUEST_CODES
    assert before == event_snapshot(cf, zone_id, room_id)
    return message


START = now() + timedelta(days=2)
INVALID_EVENTS: dict[str, dict[str, Any]] = {
    "end 30 s after start": {"event_start_time": iso(START), "event_end_time": iso(START + timedelta(seconds=30))},
    "end before start": {"event_start_time": iso(START), "event_end_time": iso(START - timedelta(hours=1))},
    "prequeue 4 min before start": {"prequeue_start_time": iso(START - timedelta(minutes=4))},
    "prequeue after start": {"prequeue_start_time": iso(START + timedelta(minutes=10))},
    "shuffle without prequeue": {"shuffle_at_event_start": True},
    "only total_active_users": {"total_active_users": 500},
    "only new_users_per_minute": {"new_users_per_minute": 500},
    "total_active_users below 200": {"total_active_users": 199, "new_users_per_minute": 200},
    "new_users_per_minute above total_active_users": {"total_active_users": 300, "new_users_per_minute": 301},
    "session_duration 31": {"session_duration": 31},
    "queueing_method unknown": {"queueing_method": "lottery"},
    "turnstile_mode unknown": {"turnstile_mode": "sometimes"},
    "name with space and bang": {"name": "bad event!"},
    "start time not a timestamp": {"event_start_time": "next tuesday"},
}


class TestInvalidEvent:
    @pytest.mark.parametrize("case", list(INVALID_EVENTS))
    def test_create_rejected(self, cf: cloudflare.Cloudflare, api_server: ApiServer, case: str) -> None:
        """Creating an event that breaks Cloudflare's event rules is a 400 and stores nothing."""
        room = new_room(cf, api_server.zone_id)
        body: dict[str, Any] = {
            "name": unique("event"),
            "event_start_time": iso(START),
            "event_end_time": iso(START + timedelta(hours=1)),
            **INVALID_EVENTS[case],
        }
        rejects_event(
            cf,
            api_server.zone_id,
            str(room.id),
            lambda: cf.waiting_rooms.events.create(str(room.id), zone_id=api_server.zone_id, **body),
        )

    def test_limits_at_the_boundary(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Exactly one minute of event and exactly five minutes of prequeue are allowed."""
        room = new_room(cf, api_server.zone_id)
        event = cf.waiting_rooms.events.create(
            str(room.id),
            zone_id=api_server.zone_id,
            name=unique("event"),
            prequeue_start_time=iso(START - timedelta(minutes=5)),
            event_start_time=iso(START),
            event_end_time=iso(START + timedelta(minutes=1)),
            shuffle_at_event_start=True,
        )
        assert event is not None and event.shuffle_at_event_start is True

    def test_duplicate_name(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Two events of one room cannot share a name."""
        room = new_room(cf, api_server.zone_id)
        rid = str(room.id)
        first = new_event(cf, api_server.zone_id, rid, start_in=timedelta(hours=1))
        rejects_event(
            cf,
            api_server.zone_id,
            rid,
            lambda: new_event(cf, api_server.zone_id, rid, timedelta(hours=5), name=first.name),
        )

    def test_sixth_event(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A room holds at most five events; the sixth is a 400."""
        room = new_room(cf, api_server.zone_id)
        rid = str(room.id)
        for i in range(5):
            new_event(cf, api_server.zone_id, rid, start_in=timedelta(hours=1 + 2 * i))
        rejects_event(cf, api_server.zone_id, rid, lambda: new_event(cf, api_server.zone_id, rid, timedelta(hours=20)))

    def test_overlap(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Events of one room may not overlap, counting a prequeue window as part of its event."""
        room = new_room(cf, api_server.zone_id)
        rid = str(room.id)
        base = now() + timedelta(hours=10)
        new_event(cf, api_server.zone_id, rid, start_in=timedelta(hours=10), length=timedelta(hours=2))
        overlapping: dict[str, dict[str, Any]] = {
            "inside": {
                "event_start_time": iso(base + timedelta(minutes=30)),
                "event_end_time": iso(base + timedelta(hours=1)),
            },
            "straddling the end": {
                "event_start_time": iso(base + timedelta(hours=1)),
                "event_end_time": iso(base + timedelta(hours=3)),
            },
            "prequeue reaching into it": {
                "prequeue_start_time": iso(base + timedelta(hours=1, minutes=50)),
                "event_start_time": iso(base + timedelta(hours=2, minutes=10)),
                "event_end_time": iso(base + timedelta(hours=3)),
            },
        }
        for times in overlapping.values():
            rejects_event(
                cf,
                api_server.zone_id,
                rid,
                lambda times=times: cf.waiting_rooms.events.create(  # type: ignore[misc]
                    rid, zone_id=api_server.zone_id, name=unique("event"), **times
                ),
            )
        # Right after it ends is fine.
        after = new_event(cf, api_server.zone_id, rid, start_in=timedelta(hours=13))
        assert after.id

    def test_edit_into_overlap(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Moving an event onto another with PATCH is a 400 and both events stay as they were."""
        room = new_room(cf, api_server.zone_id)
        rid = str(room.id)
        first = new_event(cf, api_server.zone_id, rid, start_in=timedelta(hours=1))
        second = new_event(cf, api_server.zone_id, rid, start_in=timedelta(hours=4))
        rejects_event(
            cf,
            api_server.zone_id,
            rid,
            lambda: edit_event(
                cf,
                api_server.zone_id,
                rid,
                second,
                event_start_time=str(first.event_start_time),
                event_end_time=str(first.event_end_time),
            ),
        )

    def test_edit_leaving_one_limit(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A PATCH that clears one of an event's two user limits is a 400 (the merged event is checked)."""
        room = new_room(cf, api_server.zone_id)
        rid = str(room.id)
        event = new_event(cf, api_server.zone_id, rid, total_active_users=800, new_users_per_minute=400)
        rejects_event(
            cf,
            api_server.zone_id,
            rid,
            lambda: edit_event(cf, api_server.zone_id, rid, event, new_users_per_minute=None),
        )

    def test_edit_dropping_prequeue_of_shuffled_event(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A PATCH that clears the prequeue of an event that shuffles at start is a 400."""
        room = new_room(cf, api_server.zone_id)
        rid = str(room.id)
        start = now() + timedelta(hours=6)
        event = cf.waiting_rooms.events.create(
            rid,
            zone_id=api_server.zone_id,
            name=unique("event"),
            prequeue_start_time=iso(start - timedelta(minutes=30)),
            event_start_time=iso(start),
            event_end_time=iso(start + timedelta(hours=1)),
            shuffle_at_event_start=True,
        )
        assert event is not None
        rejects_event(
            cf,
            api_server.zone_id,
            rid,
            lambda: edit_event(cf, api_server.zone_id, rid, event, prequeue_start_time=None),
        )

    def test_edit_breaking_times(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A PATCH that puts the end before the start is a 400 and the event is unchanged."""
        room = new_room(cf, api_server.zone_id)
        rid = str(room.id)
        event = new_event(cf, api_server.zone_id, rid)
        rejects_event(
            cf,
            api_server.zone_id,
            rid,
            lambda: cf.waiting_rooms.events.update(
                str(event.id),
                zone_id=api_server.zone_id,
                waiting_room_id=rid,
                name=str(event.name),
                event_start_time=str(event.event_end_time),
                event_end_time=str(event.event_start_time),
            ),
        )


MISSING = uuid.uuid4().hex


class TestNotFound:
    def test_unknown_room(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Every room-scoped method on an unknown room id is a 404 carrying the server's code and message."""
        z = api_server.zone_id
        required: dict[str, Any] = {
            "name": unique(),
            "host": unique_host("example.com"),
            "total_active_users": 300,
            "new_users_per_minute": 200,
        }
        calls: list[Callable[[], object]] = [
            lambda: cf.waiting_rooms.get(MISSING, zone_id=z),
            lambda: cf.waiting_rooms.update(MISSING, zone_id=z, **required),
            lambda: cf.waiting_rooms.edit(MISSING, zone_id=z, **required),
            lambda: cf.waiting_rooms.delete(MISSING, zone_id=z),
            lambda: cf.waiting_rooms.events.list(MISSING, zone_id=z),
            lambda: new_event(cf, z, MISSING),
            lambda: cf.waiting_rooms.rules.get(MISSING, zone_id=z),
            lambda: cf.waiting_rooms.rules.create(
                MISSING, zone_id=z, rules={"action": "bypass_waiting_room", "expression": "ip.src eq 10.0.0.1"}
            ),
            lambda: cf.waiting_rooms.rules.update(MISSING, zone_id=z, rules=[]),
            lambda: cf.waiting_rooms.statuses.get(MISSING, zone_id=z),
        ]
        for call in calls:
            error = raises(cloudflare.NotFoundError, call)
            code, message = assert_cloudflare_error(error, 404)
            assert NOT_FOUND == code and "not found" in message

    def test_malformed_room_id(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A room id that is not 32 hex digits is a 404, not a server error."""
        error = raises(cloudflare.NotFoundError, lambda: cf.waiting_rooms.get("not-a-room", zone_id=api_server.zone_id))
        assert_cloudflare_error(error, 404)

    def test_room_of_another_zone(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A room is only reachable under its own zone: the same id under another zone is a 404."""
        room = new_room(cf, api_server.zone_id)
        error = raises(
            cloudflare.NotFoundError, lambda: cf.waiting_rooms.get(str(room.id), zone_id=api_server.other_zone_id)
        )
        assert_cloudflare_error(error, 404)

    def test_unknown_event(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Every event method on an unknown event id is a 404."""
        z = api_server.zone_id
        rid = str(new_room(cf, z).id)
        times: dict[str, Any] = {
            "name": unique("event"),
            "event_start_time": iso(START),
            "event_end_time": iso(START + timedelta(hours=1)),
        }
        calls: list[Callable[[], object]] = [
            lambda: cf.waiting_rooms.events.get(MISSING, zone_id=z, waiting_room_id=rid),
            lambda: cf.waiting_rooms.events.update(MISSING, zone_id=z, waiting_room_id=rid, **times),
            lambda: cf.waiting_rooms.events.edit(MISSING, zone_id=z, waiting_room_id=rid, **times),
            lambda: cf.waiting_rooms.events.delete(MISSING, zone_id=z, waiting_room_id=rid),
            lambda: cf.waiting_rooms.events.details.get(MISSING, zone_id=z, waiting_room_id=rid),
        ]
        for call in calls:
            code, _ = assert_cloudflare_error(raises(cloudflare.NotFoundError, call), 404)
            assert NOT_FOUND == code
        assert [] == list(cf.waiting_rooms.events.list(rid, zone_id=z))

    def test_unknown_zone(self, cf: cloudflare.Cloudflare) -> None:
        """A zone id nobody registered is a 404 (Cloudflare's "Could not route to" error)."""
        error = raises(cloudflare.NotFoundError, lambda: cf.waiting_rooms.list(zone_id=MISSING))
        assert_cloudflare_error(error, 404)

    def test_unknown_account(self, cf: cloudflare.Cloudflare) -> None:
        """An account id that does not exist is a 404."""
        error = raises(cloudflare.NotFoundError, lambda: cf.waiting_rooms.list(account_id=MISSING))
        assert_cloudflare_error(error, 404)

    def test_unknown_path(self, api_server: ApiServer) -> None:
        """A path the API does not have is a 404 in Cloudflare's envelope."""
        response = httpx.get(
            f"{api_server.base_url}/zones/{api_server.zone_id}/no_such_thing",
            headers={"Authorization": f"Bearer {api_server.write_token}"},
            timeout=30,
        )
        assert 404 == response.status_code
        assert response.json()["success"] is False


class TestPagination:
    @pytest.mark.parametrize("params", [{"per_page": 7}, {"per_page": 0}, {"per_page": 5000}, {"page": 0}])
    def test_bad_paging(self, cf: cloudflare.Cloudflare, api_server: ApiServer, params: dict[str, Any]) -> None:
        """page must be at least 1 and per_page a multiple of 5 from 5 to 1000; anything else is a 400."""
        error = raises(cloudflare.BadRequestError, lambda: cf.waiting_rooms.list(zone_id=api_server.zone_id, **params))
        assert_cloudflare_error(error, 400)
