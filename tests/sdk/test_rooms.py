"""Waiting rooms: create, get, list (zone and account, paginated), update, edit, delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import cloudflare
from cloudflare.types.waiting_rooms import WaitingRoom

from tests.sdk.support import HEX32, ApiServer, info, new_room, raises, unique, unique_host

#: Every optional room field with the value Cloudflare gives it when it is not sent.
DEFAULTS: dict[str, Any] = {
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
}


def non_defaults(zone_name: str) -> dict[str, Any]:
    """A value other than the default for every writable room field."""
    return {
        "name": unique(),
        "host": unique_host(zone_name),
        "path": "/shop/checkout",
        "total_active_users": 1000,
        "new_users_per_minute": 400,
        "additional_routes": [
            {"host": unique_host(zone_name), "path": "/extra"},
            {"host": unique_host(zone_name), "path": "/"},
        ],
        "cookie_attributes": {"samesite": "strict", "secure": "always"},
        "cookie_suffix": "abcd",
        "custom_page_html": "<p>{{#waitTimeKnown}}{{waitTime}} minutes{{/waitTimeKnown}}</p>",
        "default_template_language": "de-DE",
        "description": "Black Friday shop",
        "disable_session_renewal": True,
        "enabled_origin_commands": ["revoke"],
        "json_response_enabled": True,
        "queue_all": True,
        "queueing_method": "random",
        "queueing_status_code": 429,
        "session_duration": 30,
        "suspended": True,
        "turnstile_action": "infinite_queue",
        "turnstile_mode": "visible_managed",
    }


def writable(room: WaitingRoom) -> dict[str, Any]:
    """The room's writable fields as plain JSON-like values."""
    dumped = room.model_dump(mode="json")
    return {key: dumped[key] for key in [*DEFAULTS, "name", "host", "total_active_users", "new_users_per_minute"]}


class TestCreate:
    def test_defaults(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A room created with only the required fields gets Cloudflare's default for every other field."""
        host = unique_host(api_server.zone_name)
        room = cf.waiting_rooms.create(
            zone_id=api_server.zone_id, name="Shop_Room-1", host=host, new_users_per_minute=200, total_active_users=200
        )
        assert room is not None
        try:
            required = {"name": "Shop_Room-1", "host": host, "total_active_users": 200, "new_users_per_minute": 200}
            assert {**DEFAULTS, **required} == writable(room)
            assert room.next_event_start_time is None
            assert room.next_event_prequeue_start_time is None
        finally:
            cf.waiting_rooms.delete(str(room.id), zone_id=api_server.zone_id)

    def test_read_only_fields(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """The server assigns a 32-lowercase-hex id and aware created_on/modified_on timestamps near now."""
        before = datetime.now(UTC) - timedelta(seconds=5)
        room = new_room(cf, api_server.zone_id)
        after = datetime.now(UTC) + timedelta(seconds=5)
        assert room.id is not None and HEX32.match(room.id)
        assert isinstance(room.created_on, datetime) and isinstance(room.modified_on, datetime)
        assert room.created_on.tzinfo is not None and room.modified_on.tzinfo is not None
        assert before <= room.created_on <= after
        assert room.created_on <= room.modified_on <= after

    def test_every_field_round_trips(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Every writable field sent on create comes back unchanged from create, get and list."""
        fields = non_defaults(api_server.zone_name)
        created = cf.waiting_rooms.create(zone_id=api_server.zone_id, **fields)
        assert created is not None and created.id
        assert fields == writable(created)
        fetched = cf.waiting_rooms.get(created.id, zone_id=api_server.zone_id)
        assert fetched is not None
        assert fields == writable(fetched)
        assert created.created_on == fetched.created_on
        listed = {room.id: room for room in cf.waiting_rooms.list(zone_id=api_server.zone_id, per_page=100)}
        assert fields == writable(listed[created.id])

    def test_additional_route_path_defaults_to_root(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """An additional route given without a path covers "/"."""
        extra = unique_host(api_server.zone_name)
        room = new_room(cf, api_server.zone_id, cookie_suffix="s", additional_routes=[{"host": extra}])
        assert [{"host": extra, "path": "/"}] == [r.model_dump() for r in room.additional_routes or []]

    def test_ids_are_unique(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Two rooms created back to back get different ids."""
        first = new_room(cf, api_server.zone_id)
        second = new_room(cf, api_server.zone_id)
        assert first.id != second.id

    def test_same_host_different_paths(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Rooms may share a host when their paths differ, even when one path is a prefix of the other."""
        host = unique_host(api_server.zone_name)
        outer = new_room(cf, api_server.zone_id, host=host, path="/shop")
        inner = new_room(cf, api_server.zone_id, host=host, path="/shop/checkout")
        assert (outer.host, outer.path) == (host, "/shop")
        assert (inner.host, inner.path) == (host, "/shop/checkout")

    def test_zone_apex_host(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """The zone's own name is a valid host for a room in that zone."""
        room = new_room(cf, api_server.zone_id, host=api_server.zone_name, path=f"/{unique('p')}")
        assert api_server.zone_name == room.host

    def test_wire_envelope(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Responses use Cloudflare's envelope and carry every WaitingRoom field, nulls included."""
        room = new_room(cf, api_server.zone_id)
        raw = cf.waiting_rooms.with_raw_response.get(str(room.id), zone_id=api_server.zone_id)
        assert 200 == raw.status_code
        assert raw.headers["content-type"].startswith("application/json")
        body = raw.http_response.json()
        assert {"success": True, "errors": [], "messages": []}.items() <= body.items()
        assert set(WaitingRoom.model_fields) <= set(body["result"])


class TestList:
    def test_zone_list_contains_created(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A created room appears in its zone's list and not in another zone's."""
        room = new_room(cf, api_server.zone_id)
        ids = {r.id for r in cf.waiting_rooms.list(zone_id=api_server.zone_id, per_page=100)}
        assert room.id in ids
        other = {r.id for r in cf.waiting_rooms.list(zone_id=api_server.other_zone_id, per_page=100)}
        assert room.id not in other

    def test_pagination_across_pages(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Seven rooms at per_page=5 come as pages of 5 and 2 with matching result_info, then an empty page."""
        zone = api_server.pager_zone_id
        created = {str(new_room(cf, zone, zone_name="pager.test").id) for _ in range(7)}

        first = cf.waiting_rooms.list(zone_id=zone, page=1, per_page=5)
        second = cf.waiting_rooms.list(zone_id=zone, page=2, per_page=5)
        third = cf.waiting_rooms.list(zone_id=zone, page=3, per_page=5)
        assert [5, 2, 0] == [len(first.result), len(second.result), len(third.result)]
        assert {"page": 1, "per_page": 5, "count": 5, "total_count": 7}.items() <= info(first).items()
        assert {"page": 2, "per_page": 5, "count": 2, "total_count": 7}.items() <= info(second).items()
        by_page = [str(r.id) for r in [*first.result, *second.result]]
        assert created == set(by_page) and len(by_page) == 7

        # The SDK's iterators walk the pages by themselves, stopping at the first empty one.
        assert sorted(created) == sorted(str(r.id) for r in cf.waiting_rooms.list(zone_id=zone, per_page=5))
        sizes = [len(page.result) for page in cf.waiting_rooms.list(zone_id=zone, per_page=5).iter_pages()]
        assert [5, 2, 0] == sizes
        # Order is stable: the same page asked twice lists the same rooms.
        again = cf.waiting_rooms.list(zone_id=zone, page=1, per_page=5)
        assert [r.id for r in first.result] == [r.id for r in again.result]

    def test_default_page_holds_everything_small(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Without page/per_page the first page starts at page 1 and holds up to the default page size."""
        room = new_room(cf, api_server.other_zone_id, zone_name="other.test")
        page = cf.waiting_rooms.list(zone_id=api_server.other_zone_id)
        assert 1 == info(page)["page"]
        assert info(page)["per_page"] >= 5
        assert room.id in {r.id for r in page.result}

    def test_account_list(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """The account-level list covers rooms of every zone of the account, paginated without repeats."""
        here = new_room(cf, api_server.zone_id)
        there = new_room(cf, api_server.other_zone_id, zone_name="other.test")
        first = cf.waiting_rooms.list(account_id=api_server.account_id, page=1, per_page=5)
        total = info(first)["total_count"]
        everything = [str(r.id) for r in cf.waiting_rooms.list(account_id=api_server.account_id, per_page=5)]
        assert len(everything) == len(set(everything)) == total
        assert {str(here.id), str(there.id)} <= set(everything)
        assert len(first.result) == min(5, total)

    def test_account_list_equals_zone_lists(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """The account-level list is exactly the union of its zones' lists."""
        zones = [api_server.zone_id, api_server.pager_zone_id, api_server.other_zone_id, api_server.settings_zone_id]
        union = {str(r.id) for zone in zones for r in cf.waiting_rooms.list(zone_id=zone, per_page=100)}
        account = {str(r.id) for r in cf.waiting_rooms.list(account_id=api_server.account_id, per_page=100)}
        assert union == account


class TestUpdate:
    def test_put_replaces_whole_room(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """PUT resets every field it does not send to the default, keeping id and created_on."""
        room = cf.waiting_rooms.create(zone_id=api_server.zone_id, **non_defaults(api_server.zone_name))
        assert room is not None and room.id
        host = unique_host(api_server.zone_name)
        name = unique()
        updated = cf.waiting_rooms.update(
            room.id,
            zone_id=api_server.zone_id,
            name=name,
            host=host,
            total_active_users=500,
            new_users_per_minute=250,
        )
        assert updated is not None
        expected = {**DEFAULTS, "name": name, "host": host, "total_active_users": 500, "new_users_per_minute": 250}
        assert expected == writable(updated)
        assert room.id == updated.id and room.created_on == updated.created_on
        assert updated.modified_on is not None and room.modified_on is not None
        assert updated.modified_on >= room.modified_on
        fetched = cf.waiting_rooms.get(room.id, zone_id=api_server.zone_id)
        assert fetched is not None and expected == writable(fetched)

    def test_put_sets_every_field(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """PUT with every field sets every field."""
        room = new_room(cf, api_server.zone_id)
        fields = non_defaults(api_server.zone_name)
        updated = cf.waiting_rooms.update(str(room.id), zone_id=api_server.zone_id, **fields)
        assert updated is not None and fields == writable(updated)

    def test_put_keeps_own_route(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A room re-sending its own host, path and additional routes does not conflict with itself."""
        fields = non_defaults(api_server.zone_name)
        room = cf.waiting_rooms.create(zone_id=api_server.zone_id, **fields)
        assert room is not None
        updated = cf.waiting_rooms.update(str(room.id), zone_id=api_server.zone_id, **{**fields, "description": "x"})
        assert updated is not None and "x" == updated.description


class TestEdit:
    def test_patch_merges(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """PATCH changes only the fields it sends and keeps every other field as it was."""
        fields = non_defaults(api_server.zone_name)
        room = cf.waiting_rooms.create(zone_id=api_server.zone_id, **fields)
        assert room is not None and room.id
        edited = cf.waiting_rooms.edit(
            room.id,
            zone_id=api_server.zone_id,
            name=fields["name"],
            host=fields["host"],
            total_active_users=fields["total_active_users"],
            new_users_per_minute=fields["new_users_per_minute"],
            description="changed",
            session_duration=7,
        )
        assert edited is not None
        assert {**fields, "description": "changed", "session_duration": 7} == writable(edited)
        fetched = cf.waiting_rooms.get(room.id, zone_id=api_server.zone_id)
        assert fetched is not None and writable(edited) == writable(fetched)

    def test_patch_bumps_modified_on(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """PATCH moves modified_on forward and leaves created_on alone."""
        room = new_room(cf, api_server.zone_id)
        edited = cf.waiting_rooms.edit(
            str(room.id),
            zone_id=api_server.zone_id,
            name=str(room.name),
            host=str(room.host),
            total_active_users=400,
            new_users_per_minute=200,
        )
        assert edited is not None and 400 == edited.total_active_users
        assert room.created_on == edited.created_on
        assert edited.modified_on is not None and room.modified_on is not None
        assert edited.modified_on >= room.modified_on

    def test_patch_cookie_attributes(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """PATCH sets nested cookie attributes and the other fields keep their defaults."""
        room = new_room(cf, api_server.zone_id)
        edited = cf.waiting_rooms.edit(
            str(room.id),
            zone_id=api_server.zone_id,
            name=str(room.name),
            host=str(room.host),
            total_active_users=300,
            new_users_per_minute=200,
            cookie_attributes={"samesite": "lax", "secure": "never"},
        )
        assert edited is not None and edited.cookie_attributes is not None
        assert ("lax", "never") == (edited.cookie_attributes.samesite, edited.cookie_attributes.secure)
        assert 5 == edited.session_duration and "fifo" == edited.queueing_method


class TestDelete:
    def test_delete(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """DELETE returns the id; afterwards get is 404 and the list no longer has the room."""
        room = new_room(cf, api_server.zone_id)
        deleted = cf.waiting_rooms.delete(str(room.id), zone_id=api_server.zone_id)
        assert deleted is not None and room.id == deleted.id
        raises(cloudflare.NotFoundError, lambda: cf.waiting_rooms.get(str(room.id), zone_id=api_server.zone_id))
        assert room.id not in {r.id for r in cf.waiting_rooms.list(zone_id=api_server.zone_id, per_page=100)}
        raises(cloudflare.NotFoundError, lambda: cf.waiting_rooms.delete(str(room.id), zone_id=api_server.zone_id))

    def test_delete_frees_route_and_name(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """After a room is deleted its name and host/path may be used by a new room."""
        room = new_room(cf, api_server.zone_id, path="/freed")
        cf.waiting_rooms.delete(str(room.id), zone_id=api_server.zone_id)
        again = new_room(cf, api_server.zone_id, name=room.name, host=room.host, path="/freed")
        assert again.id != room.id

    def test_delete_takes_events_and_rules(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A deleted room's events and rules are gone with it (404)."""
        room = new_room(cf, api_server.zone_id)
        rid = str(room.id)
        cf.waiting_rooms.rules.create(
            rid, zone_id=api_server.zone_id, rules={"action": "bypass_waiting_room", "expression": "ip.src eq 10.0.0.1"}
        )
        cf.waiting_rooms.delete(rid, zone_id=api_server.zone_id)
        raises(cloudflare.NotFoundError, lambda: cf.waiting_rooms.events.list(rid, zone_id=api_server.zone_id))
        raises(cloudflare.NotFoundError, lambda: cf.waiting_rooms.rules.get(rid, zone_id=api_server.zone_id))
