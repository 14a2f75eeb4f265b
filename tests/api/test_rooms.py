"""Waiting room CRUD: shapes, defaults, PUT versus PATCH, lists and pagination."""

from __future__ import annotations

import re

from antechamber.db import accounts
from tests.api.support import Api, errors_of

DEFAULTS = {
    "additional_routes": [],
    "cookie_attributes": {"samesite": "auto", "secure": "auto"},
    "cookie_suffix": "",
    "custom_page_html": "",
    "default_template_language": "en-US",
    "description": "",
    "disable_session_renewal": False,
    "enabled_origin_commands": [],
    "json_response_enabled": False,
    "path": "/",
    "queue_all": False,
    "queueing_method": "fifo",
    "queueing_status_code": 200,
    "session_duration": 5,
    "suspended": False,
    "turnstile_action": "log",
    "turnstile_mode": "invisible",
    "next_event_prequeue_start_time": None,
    "next_event_start_time": None,
}


class TestCreateAndGet:
    async def test_create_fills_cloudflare_defaults(self, api: Api) -> None:
        """A room created with only the required fields gets every documented default."""
        room = await api.create_room()
        assert {key: room[key] for key in DEFAULTS} == DEFAULTS
        assert re.fullmatch(r"[0-9a-f]{32}", room["id"])
        assert room["created_on"] == room["modified_on"] == "2026-06-01T12:00:00Z"

    async def test_envelope_of_success(self, api: Api) -> None:
        """A successful response is the v4 envelope: success, empty errors and messages, result."""
        body = {"name": "a", "host": "example.com", "new_users_per_minute": 200, "total_active_users": 200}
        response = await api.client.post(api.rooms_url(), json=body)
        envelope = response.json()
        assert (envelope["success"], envelope["errors"], envelope["messages"]) == (True, [], [])

    async def test_get_returns_what_create_returned(self, api: Api) -> None:
        """GET returns the same object create returned."""
        room = await api.create_room(description="Summer sale", queueing_method="random")
        response = await api.client.get(api.room_url(room["id"]))
        assert response.json()["result"] == room

    async def test_read_only_fields_in_body_are_ignored(self, api: Api) -> None:
        """Computed fields sent by the client (id, created_on, next_event_*) do not change the room."""
        room = await api.create_room(
            id="0" * 32, created_on="2000-01-01T00:00:00Z", next_event_start_time="2030-01-01T00:00:00Z"
        )
        assert room["id"] != "0" * 32
        assert room["created_on"] == "2026-06-01T12:00:00Z"
        assert room["next_event_start_time"] is None

    async def test_unknown_room_is_404(self, api: Api) -> None:
        """A room id that does not exist gives 404 in the envelope."""
        for room_id in ("f" * 32, "not-an-id"):
            response = await api.client.get(api.room_url(room_id))
            assert response.status_code == 404
            assert errors_of(response)[0]["code"] == 1005

    async def test_room_of_another_zone_is_404(self, api: Api) -> None:
        """A room is only reachable under its own zone."""
        room = await api.create_room()
        other = await api.add_zone("other.org")
        response = await api.client.get(f"{api.rooms_url(other)}/{room['id']}")
        assert response.status_code == 404

    async def test_unknown_zone_is_404(self, api: Api) -> None:
        """An unknown zone id gives 404 with Cloudflare's routing code 7003."""
        response = await api.client.get(api.rooms_url("e" * 32))
        assert response.status_code == 404
        assert errors_of(response)[0]["code"] == 7003


class TestUpdateAndEdit:
    async def test_put_replaces_everything(self, api: Api) -> None:
        """PUT is a full replace: fields left out go back to their defaults."""
        room = await api.create_room(description="x", queue_all=True, session_duration=10)
        api.clock.advance(minutes=1)
        body = {"name": "shop", "host": "shop.example.com", "new_users_per_minute": 400, "total_active_users": 500}
        response = await api.client.put(api.room_url(room["id"]), json=body)
        updated = response.json()["result"]
        assert (updated["description"], updated["queue_all"], updated["session_duration"]) == ("", False, 5)
        assert updated["new_users_per_minute"] == 400
        assert updated["created_on"] == room["created_on"]
        assert updated["modified_on"] == "2026-06-01T12:01:00Z"

    async def test_patch_merges(self, api: Api) -> None:
        """PATCH changes only the fields given."""
        room = await api.create_room(description="keep me", session_duration=10)
        response = await api.client.patch(api.room_url(room["id"]), json={"queue_all": True})
        edited = response.json()["result"]
        assert (edited["description"], edited["session_duration"], edited["queue_all"]) == ("keep me", 10, True)

    async def test_patch_may_move_the_route(self, api: Api) -> None:
        """A room may change its own host and path; its old route is freed."""
        room = await api.create_room()
        await api.client.patch(api.room_url(room["id"]), json={"path": "/shop"})
        again = await api.create_room(name="other")  # shop.example.com/ is free again
        assert again["path"] == "/"

    async def test_put_unknown_room_is_404(self, api: Api) -> None:
        """Updating a room that does not exist is a 404."""
        body = {"name": "x", "host": "example.com", "new_users_per_minute": 200, "total_active_users": 200}
        response = await api.client.put(api.room_url("a" * 32), json=body)
        assert response.status_code == 404


class TestDelete:
    async def test_delete_returns_id_and_removes(self, api: Api) -> None:
        """DELETE answers {id} and the room, its events and rules are gone."""
        room = await api.create_room()
        await api.create_event(room["id"])
        await api.client.post(
            api.room_url(room["id"], "/rules"), json={"action": "bypass_waiting_room", "expression": "ssl"}
        )
        response = await api.client.delete(api.room_url(room["id"]))
        assert response.json()["result"] == {"id": room["id"]}
        assert (await api.client.get(api.room_url(room["id"]))).status_code == 404
        snapshot = await api.snapshot()
        assert snapshot["events"] == snapshot["rules"] == snapshot["room_routes"] == []

    async def test_delete_twice_is_404(self, api: Api) -> None:
        """A deleted room cannot be deleted again."""
        room = await api.create_room()
        await api.client.delete(api.room_url(room["id"]))
        assert (await api.client.delete(api.room_url(room["id"]))).status_code == 404


class TestLists:
    async def test_zone_list_pages(self, api: Api) -> None:
        """The zone list is oldest first and paginated with result_info."""
        ids = []
        for number in range(7):
            api.clock.advance(seconds=1)
            ids.append((await api.create_room(name=f"r{number}", path=f"/r{number}"))["id"])
        first = (await api.client.get(api.rooms_url(), params={"per_page": 5})).json()
        second = (await api.client.get(api.rooms_url(), params={"per_page": 5, "page": 2})).json()
        beyond = (await api.client.get(api.rooms_url(), params={"per_page": 5, "page": 3})).json()
        assert [room["id"] for room in first["result"] + second["result"]] == ids
        assert first["result_info"] == {"page": 1, "per_page": 5, "count": 5, "total_count": 7, "total_pages": 2}
        assert second["result_info"]["count"] == 2
        assert beyond["result"] == []

    async def test_account_list_spans_zones(self, api: Api) -> None:
        """The account-level list shows the rooms of every zone in the account."""
        other = await api.add_zone("other.org")
        body = {"name": "o", "host": "other.org", "new_users_per_minute": 200, "total_active_users": 200}
        await api.client.post(api.rooms_url(other), json=body)
        await api.create_room()
        response = await api.client.get(f"/accounts/{accounts.DEFAULT_ACCOUNT_ID}/waiting_rooms")
        assert sorted(room["name"] for room in response.json()["result"]) == ["o", "shop"]
        assert response.json()["result_info"]["total_count"] == 2

    async def test_unknown_account_is_404(self, api: Api) -> None:
        """An unknown account id gives 404."""
        response = await api.client.get(f"/accounts/{'b' * 32}/waiting_rooms")
        assert response.status_code == 404

    async def test_per_page_must_be_a_multiple_of_five(self, api: Api) -> None:
        """per_page outside 5..1000 or not a multiple of 5 is a 400."""
        for per_page in (3, 7, 1005):
            response = await api.client.get(api.rooms_url(), params={"per_page": per_page})
            assert response.status_code == 400
            assert "per_page" in errors_of(response)[0]["message"]


async def test_delete_frees_the_routes(api: Api) -> None:
    """After a room is deleted, another room may take its routes."""
    room = await api.create_room(cookie_suffix="s", additional_routes=[{"host": "www.example.com"}])
    await api.client.delete(api.room_url(room["id"]))
    again = await api.create_room(name="again", host="www.example.com")
    assert again["host"] == "www.example.com"
