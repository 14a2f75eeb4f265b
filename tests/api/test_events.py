"""Scheduled events: CRUD, details, the rules on their times, and the room fields they drive."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from tests.api.support import T0, Api, assert_rejected, iso

DAY = T0 + timedelta(days=1)


def at(**delta: float) -> str:
    """A time relative to the start of the default event (a day after T0)."""
    return iso(DAY + timedelta(**delta))


def event(**fields: Any) -> dict[str, Any]:
    """A valid event body with some fields changed."""
    return {"name": "launch", "event_start_time": at(), "event_end_time": at(hours=1), **fields}


@pytest.fixture
async def room_id(api: Api) -> str:
    """A room to hang events on."""
    return str((await api.create_room())["id"])


class TestCrud:
    async def test_create_defaults(self, api: Api, room_id: str) -> None:
        """A new event has Cloudflare's defaults and null overrides."""
        created = await api.create_event(room_id)
        assert created["prequeue_start_time"] is None
        assert (created["shuffle_at_event_start"], created["suspended"], created["description"]) == (False, False, "")
        for name in ("total_active_users", "new_users_per_minute", "session_duration", "queueing_method",
                     "custom_page_html", "disable_session_renewal", "turnstile_mode", "turnstile_action"):  # fmt: skip
            assert created[name] is None

    async def test_times_are_normalized_to_utc(self, api: Api, room_id: str) -> None:
        """Times come back in UTC with milliseconds and a Z, whatever offset they were sent with."""
        created = await api.create_event(
            room_id, event_start_time="2026-06-02T14:00:00+02:00", event_end_time="2026-06-02T13:00:00Z"
        )
        assert created["event_start_time"] == "2026-06-02T12:00:00.000Z"

    async def test_get_list_delete(self, api: Api, room_id: str) -> None:
        """An event can be read, listed with result_info, and deleted."""
        created = await api.create_event(room_id)
        url = api.room_url(room_id, f"/events/{created['id']}")
        assert (await api.client.get(url)).json()["result"] == created
        listed = (await api.client.get(api.room_url(room_id, "/events"))).json()
        assert [item["id"] for item in listed["result"]] == [created["id"]]
        assert listed["result_info"]["total_count"] == 1
        assert (await api.client.delete(url)).json()["result"] == {"id": created["id"]}
        assert (await api.client.get(url)).status_code == 404

    async def test_put_replaces_and_patch_merges(self, api: Api, room_id: str) -> None:
        """PUT resets unset fields to defaults; PATCH keeps them."""
        created = await api.create_event(room_id, description="d", suspended=True)
        url = api.room_url(room_id, f"/events/{created['id']}")
        patched = (await api.client.patch(url, json={"name": "renamed"})).json()["result"]
        assert (patched["name"], patched["description"], patched["suspended"]) == ("renamed", "d", True)
        put = (await api.client.put(url, json=event(name="again"))).json()["result"]
        assert (put["name"], put["description"], put["suspended"]) == ("again", "", False)
        assert put["created_on"] == created["created_on"]

    async def test_patch_null_clears_an_override(self, api: Api, room_id: str) -> None:
        """PATCH with null puts an override back to inherit-from-room."""
        created = await api.create_event(room_id, session_duration=10)
        url = api.room_url(room_id, f"/events/{created['id']}")
        patched = (await api.client.patch(url, json={"session_duration": None})).json()["result"]
        assert patched["session_duration"] is None

    async def test_unknown_event_and_room(self, api: Api, room_id: str) -> None:
        """Unknown event or room ids give 404."""
        assert (await api.client.get(api.room_url(room_id, f"/events/{'a' * 32}"))).status_code == 404
        assert (await api.client.get(api.room_url("a" * 32, "/events"))).status_code == 404
        response = await api.client.post(api.room_url("a" * 32, "/events"), json=event())
        assert response.status_code == 404


class TestDetails:
    async def test_details_fill_inherited_fields_from_the_room(self, api: Api, room_id: str) -> None:
        """Details show the event with every null override replaced by the room's current value."""
        created = await api.create_event(room_id, queueing_method="random")
        await api.client.patch(api.room_url(room_id), json={"session_duration": 12, "total_active_users": 999})
        details = (await api.client.get(api.room_url(room_id, f"/events/{created['id']}/details"))).json()["result"]
        assert details["queueing_method"] == "random"
        assert (details["session_duration"], details["total_active_users"]) == (12, 999)
        assert (details["turnstile_mode"], details["custom_page_html"]) == ("invisible", "")


class TestRoomFields:
    async def test_next_event_times(self, api: Api, room_id: str) -> None:
        """A room reports the earliest upcoming, non-suspended event's start and prequeue start."""
        await api.create_event(room_id, name="later", event_start_time=at(days=2), event_end_time=at(days=2, hours=1))
        await api.create_event(room_id, name="soon", prequeue_start_time=at(minutes=-30))
        await api.create_event(
            room_id, name="off", suspended=True, event_start_time=at(hours=-5), event_end_time=at(hours=-4)
        )
        got = (await api.client.get(api.room_url(room_id))).json()["result"]
        assert (got["next_event_start_time"], got["next_event_prequeue_start_time"]) == (at(), at(minutes=-30))

    async def test_started_event_is_not_next(self, api: Api, room_id: str) -> None:
        """Once an event has started it is no longer the next one."""
        await api.create_event(room_id)
        api.clock.advance(days=1, minutes=1)
        got = (await api.client.get(api.room_url(room_id))).json()["result"]
        assert got["next_event_start_time"] is None


class TestValidation:
    async def test_start_at_least_a_minute_before_end(self, api: Api, room_id: str) -> None:
        """The event must last at least a minute."""
        body = event(event_end_time=at(seconds=59))
        await assert_rejected(api, "POST", api.room_url(room_id, "/events"), body, 400, 1004, "at least 1 minute")

    async def test_exactly_one_minute_is_allowed(self, api: Api, room_id: str) -> None:
        """A one-minute event is the shortest allowed."""
        assert (await api.create_event(room_id, event_end_time=at(minutes=1)))["event_end_time"] == at(minutes=1)

    async def test_prequeue_at_least_five_minutes_before_start(self, api: Api, room_id: str) -> None:
        """The prequeue must open at least five minutes before the start."""
        body = event(prequeue_start_time=at(minutes=-4))
        await assert_rejected(api, "POST", api.room_url(room_id, "/events"), body, 400, 1004, "at least 5 minutes")

    async def test_prequeue_after_start(self, api: Api, room_id: str) -> None:
        """A prequeue after the start is rejected."""
        body = event(prequeue_start_time=at(minutes=10))
        await assert_rejected(api, "POST", api.room_url(room_id, "/events"), body, 400, 1004, "prequeue_start_time")

    async def test_shuffle_needs_prequeue(self, api: Api, room_id: str) -> None:
        """shuffle_at_event_start requires a prequeue."""
        body = event(shuffle_at_event_start=True)
        await assert_rejected(api, "POST", api.room_url(room_id, "/events"), body, 400, 1004, "requires prequeue")

    @pytest.mark.parametrize("field", ["total_active_users", "new_users_per_minute"])
    async def test_user_limits_set_together(self, api: Api, room_id: str, field: str) -> None:
        """total_active_users and new_users_per_minute are overridden together or not at all."""
        body = event(**{field: 500})
        await assert_rejected(api, "POST", api.room_url(room_id, "/events"), body, 400, 1004, "set together")

    async def test_event_new_users_at_most_total_active(self, api: Api, room_id: str) -> None:
        """An event's new_users_per_minute may not exceed its total_active_users."""
        body = event(total_active_users=300, new_users_per_minute=301)
        await assert_rejected(api, "POST", api.room_url(room_id, "/events"), body, 400, 1004, "must not be greater")

    async def test_at_most_five_events(self, api: Api, room_id: str) -> None:
        """A room holds at most five events."""
        for number in range(5):
            await api.create_event(
                room_id, name=f"e{number}", event_start_time=at(days=number), event_end_time=at(days=number, hours=1)
            )
        body = event(name="sixth", event_start_time=at(days=9), event_end_time=at(days=9, hours=1))
        await assert_rejected(api, "POST", api.room_url(room_id, "/events"), body, 400, 1004, "at most 5 events")

    async def test_no_overlap(self, api: Api, room_id: str) -> None:
        """Two events of a room may not overlap."""
        await api.create_event(room_id)
        body = event(name="second", event_start_time=at(minutes=30), event_end_time=at(hours=2))
        await assert_rejected(api, "POST", api.room_url(room_id, "/events"), body, 400, 1004, "overlaps")

    async def test_prequeue_counts_as_overlap(self, api: Api, room_id: str) -> None:
        """An event's prequeue window may not overlap another event."""
        await api.create_event(room_id)
        body = event(
            name="second", prequeue_start_time=at(minutes=30), event_start_time=at(hours=2), event_end_time=at(hours=3)
        )
        await assert_rejected(api, "POST", api.room_url(room_id, "/events"), body, 400, 1004, "overlaps")

    async def test_back_to_back_is_allowed(self, api: Api, room_id: str) -> None:
        """An event may start exactly when the previous one ends."""
        await api.create_event(room_id)
        second = await api.create_event(
            room_id, name="second", event_start_time=at(hours=1), event_end_time=at(hours=2)
        )
        assert second["event_start_time"] == at(hours=1)

    async def test_events_of_other_rooms_may_overlap(self, api: Api, room_id: str) -> None:
        """Overlap is only forbidden within one room."""
        await api.create_event(room_id)
        other = await api.create_room(name="other", path="/other")
        assert (await api.create_event(other["id"]))["name"] == "launch"

    async def test_name_unique_in_room(self, api: Api, room_id: str) -> None:
        """Two events of a room cannot share a name."""
        await api.create_event(room_id)
        body = event(event_start_time=at(days=3), event_end_time=at(days=3, hours=1))
        await assert_rejected(api, "POST", api.room_url(room_id, "/events"), body, 400, 1004, "already exists")

    @pytest.mark.parametrize(
        ("field", "value", "words"),
        [
            ("name", "a b", "only letters"),
            ("event_start_time", "tomorrow", "ISO 8601"),
            ("event_start_time", "0001-01-01T00:00:00+00:01", "ISO 8601"),  # the year 0 in UTC: no crash
            ("event_end_time", 1_800_000_000, "string"),
            ("session_duration", 31, "less than or equal to 30"),
            ("total_active_users", 100, "greater than or equal to 200"),
            ("queueing_method", "lifo", "'fifo'"),
            ("turnstile_mode", "on", "'off'"),
            ("suspended", "yes", "boolean"),
        ],
    )
    async def test_field_types_and_ranges(self, api: Api, room_id: str, field: str, value: Any, words: str) -> None:
        """Event fields follow the same types, ranges and enums as the room's."""
        await assert_rejected(api, "POST", api.room_url(room_id, "/events"), event(**{field: value}), 400, 1002, words)

    @pytest.mark.parametrize("field", ["name", "event_start_time", "event_end_time"])
    async def test_required_fields(self, api: Api, room_id: str, field: str) -> None:
        """name and the two times are required."""
        body = event()
        del body[field]
        await assert_rejected(api, "POST", api.room_url(room_id, "/events"), body, 400, 1003, field)

    async def test_patch_into_overlap_changes_nothing(self, api: Api, room_id: str) -> None:
        """An edit that makes events overlap is rejected whole."""
        await api.create_event(room_id)
        second = await api.create_event(
            room_id, name="b", event_start_time=at(days=1), event_end_time=at(days=1, hours=1)
        )
        url = api.room_url(room_id, f"/events/{second['id']}")
        await assert_rejected(api, "PATCH", url, {"event_start_time": at(minutes=30)}, 400, 1004, "overlaps")

    async def test_patch_breaking_the_pairing_rule(self, api: Api, room_id: str) -> None:
        """A PATCH is validated merged: giving one user limit alone fails."""
        created = await api.create_event(room_id)
        url = api.room_url(room_id, f"/events/{created['id']}")
        await assert_rejected(api, "PATCH", url, {"total_active_users": 500}, 400, 1004, "set together")

    async def test_an_event_does_not_overlap_itself(self, api: Api, room_id: str) -> None:
        """Editing an event's own times is checked against the other events only."""
        created = await api.create_event(room_id)
        url = api.room_url(room_id, f"/events/{created['id']}")
        response = await api.client.patch(url, json={"event_end_time": at(hours=2)})
        assert response.status_code == 200


async def test_concurrent_creates_respect_the_limit(api: Api, room_id: str) -> None:
    """Seven events created at once: writes are serialized, so exactly five are stored."""
    bodies = [
        event(name=f"e{number}", event_start_time=at(days=number), event_end_time=at(days=number, hours=1))
        for number in range(7)
    ]
    url = api.room_url(room_id, "/events")
    responses = await asyncio.gather(*(api.client.post(url, json=body) for body in bodies))
    assert sorted(response.status_code for response in responses) == [200] * 5 + [400] * 2
    assert len((await api.snapshot())["events"]) == 5
