"""Authentication and authorization: missing or bad tokens, read-only tokens, zone-limited tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cloudflare

from tests.sdk.support import (
    ApiServer,
    assert_cloudflare_error,
    new_event,
    new_room,
    raises,
    room_snapshot,
    unique,
    unique_host,
)

NO_CREDENTIALS = 10000
FORBIDDEN = 10000
INVALID_TOKEN = 9109
OMIT_AUTH = {"Authorization": cloudflare.Omit()}


class TestAuthentication:
    def test_no_token(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A request without an Authorization header is a 401 AuthenticationError."""
        error = raises(
            cloudflare.AuthenticationError,
            lambda: cf.waiting_rooms.list(zone_id=api_server.zone_id, extra_headers=OMIT_AUTH),
        )
        code, _ = assert_cloudflare_error(error, 401)
        assert NO_CREDENTIALS == code

    def test_no_token_write(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A create without credentials is a 401 and stores nothing."""
        before = room_snapshot(cf, api_server.zone_id)
        error = raises(
            cloudflare.AuthenticationError,
            lambda: new_room(cf, api_server.zone_id, extra_headers=OMIT_AUTH),
        )
        assert_cloudflare_error(error, 401)
        assert before == room_snapshot(cf, api_server.zone_id)

    def test_unknown_token(self, api_server: ApiServer) -> None:
        """A token the server never issued is a 401 AuthenticationError."""
        with api_server.client("not-a-real-token") as client:
            error = raises(
                cloudflare.AuthenticationError, lambda: client.waiting_rooms.list(zone_id=api_server.zone_id)
            )
        code, _ = assert_cloudflare_error(error, 401)
        assert INVALID_TOKEN == code

    def test_not_a_bearer_token(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """An Authorization header that is not a Bearer token is a 401."""
        error = raises(
            cloudflare.AuthenticationError,
            lambda: cf.waiting_rooms.list(
                zone_id=api_server.zone_id, extra_headers={"Authorization": "Basic Zm9vOmJhcg=="}
            ),
        )
        assert_cloudflare_error(error, 401)

    def test_global_api_key_is_not_a_token(self, api_server: ApiServer) -> None:
        """Legacy X-Auth-Key/X-Auth-Email credentials are not accepted in place of a token: 401."""
        with cloudflare.Cloudflare(
            api_key=api_server.write_token, api_email="ops@example.com", base_url=api_server.base_url, max_retries=0
        ) as client:
            error = raises(
                cloudflare.AuthenticationError, lambda: client.waiting_rooms.list(zone_id=api_server.zone_id)
            )
        assert_cloudflare_error(error, 401)

    def test_token_is_not_echoed(self, api_server: ApiServer) -> None:
        """The error for a bad token does not repeat the token back."""
        secret = f"secret-{unique()}"
        with api_server.client(secret) as client:
            error = raises(
                cloudflare.AuthenticationError, lambda: client.waiting_rooms.list(zone_id=api_server.zone_id)
            )
        assert secret not in str(error.body)


class TestReadOnlyToken:
    def test_reads_work(self, cf: cloudflare.Cloudflare, reader: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A read token may get and list rooms, events, rules, status and settings."""
        z = api_server.zone_id
        room = new_room(cf, z)
        rid = str(room.id)
        event = new_event(cf, z, rid)
        got = reader.waiting_rooms.get(rid, zone_id=z)
        assert got is not None and room.id == got.id
        assert rid in {str(r.id) for r in reader.waiting_rooms.list(zone_id=z, per_page=100)}
        assert [event.id] == [e.id for e in reader.waiting_rooms.events.list(rid, zone_id=z)]
        assert reader.waiting_rooms.events.get(str(event.id), zone_id=z, waiting_room_id=rid) is not None
        assert reader.waiting_rooms.events.details.get(str(event.id), zone_id=z, waiting_room_id=rid) is not None
        assert [] == reader.waiting_rooms.rules.get(rid, zone_id=z).result
        assert reader.waiting_rooms.statuses.get(rid, zone_id=z) is not None
        assert reader.waiting_rooms.settings.get(zone_id=z) is not None
        assert rid in {str(r.id) for r in reader.waiting_rooms.list(account_id=api_server.account_id, per_page=100)}

    def test_writes_forbidden(
        self, cf: cloudflare.Cloudflare, reader: cloudflare.Cloudflare, api_server: ApiServer
    ) -> None:
        """Every write with a read token is a 403 PermissionDeniedError and changes nothing."""
        z = api_server.zone_id
        room = new_room(cf, z)
        rid = str(room.id)
        event = new_event(cf, z, rid)
        (rule,) = cf.waiting_rooms.rules.create(
            rid, zone_id=z, rules={"action": "bypass_waiting_room", "expression": "ip.src eq 10.0.0.1"}
        ).result
        required: dict[str, Any] = {
            "name": str(room.name),
            "host": str(room.host),
            "total_active_users": 999,
            "new_users_per_minute": 200,
        }
        times: dict[str, Any] = {
            "name": str(event.name),
            "event_start_time": str(event.event_start_time),
            "event_end_time": str(event.event_end_time),
        }
        rule_body = {"action": "bypass_waiting_room", "expression": "ip.src eq 10.0.0.2"}
        writes: list[Callable[[], object]] = [
            lambda: new_room(reader, z),
            lambda: reader.waiting_rooms.update(rid, zone_id=z, **required),
            lambda: reader.waiting_rooms.edit(rid, zone_id=z, **required),
            lambda: reader.waiting_rooms.delete(rid, zone_id=z),
            lambda: new_event(reader, z, rid, name=unique("event")),
            lambda: reader.waiting_rooms.events.update(str(event.id), zone_id=z, waiting_room_id=rid, **times),
            lambda: reader.waiting_rooms.events.edit(str(event.id), zone_id=z, waiting_room_id=rid, **times),
            lambda: reader.waiting_rooms.events.delete(str(event.id), zone_id=z, waiting_room_id=rid),
            lambda: reader.waiting_rooms.rules.create(rid, zone_id=z, rules=rule_body),  # type: ignore[arg-type]
            lambda: reader.waiting_rooms.rules.update(rid, zone_id=z, rules=[rule_body]),  # type: ignore[list-item]
            lambda: reader.waiting_rooms.rules.edit(str(rule.id), zone_id=z, waiting_room_id=rid, **rule_body),  # type: ignore[arg-type]
            lambda: reader.waiting_rooms.rules.delete(str(rule.id), zone_id=z, waiting_room_id=rid),
            lambda: reader.waiting_rooms.settings.update(zone_id=z, search_engine_crawler_bypass=True),
            lambda: reader.waiting_rooms.settings.edit(zone_id=z, search_engine_crawler_bypass=True),
        ]
        rooms_before = room_snapshot(cf, z)
        events_before = [e.model_dump() for e in cf.waiting_rooms.events.list(rid, zone_id=z)]
        rules_before = cf.waiting_rooms.rules.get(rid, zone_id=z).result
        settings_before = cf.waiting_rooms.settings.get(zone_id=z)
        for write in writes:
            code, _ = assert_cloudflare_error(raises(cloudflare.PermissionDeniedError, write), 403)
            assert FORBIDDEN == code
        assert rooms_before == room_snapshot(cf, z)
        assert events_before == [e.model_dump() for e in cf.waiting_rooms.events.list(rid, zone_id=z)]
        assert rules_before == cf.waiting_rooms.rules.get(rid, zone_id=z).result
        assert settings_before == cf.waiting_rooms.settings.get(zone_id=z)


class TestZoneLimitedToken:
    def test_own_zone_works(self, zone_writer: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A zone-limited write token may create, read and delete rooms in its zone."""
        room = new_room(zone_writer, api_server.zone_id)
        got = zone_writer.waiting_rooms.get(str(room.id), zone_id=api_server.zone_id)
        assert got is not None and room.id == got.id
        zone_writer.waiting_rooms.delete(str(room.id), zone_id=api_server.zone_id)

    def test_other_zone_forbidden(
        self, cf: cloudflare.Cloudflare, zone_writer: cloudflare.Cloudflare, api_server: ApiServer
    ) -> None:
        """On another zone a zone-limited token gets 403 for reads and writes, and nothing changes."""
        other = api_server.other_zone_id
        room = new_room(cf, other, "other.test")
        before = room_snapshot(cf, other)
        calls: list[Callable[[], object]] = [
            lambda: zone_writer.waiting_rooms.list(zone_id=other),
            lambda: zone_writer.waiting_rooms.get(str(room.id), zone_id=other),
            lambda: new_room(zone_writer, other, "other.test"),
            lambda: zone_writer.waiting_rooms.delete(str(room.id), zone_id=other),
            lambda: zone_writer.waiting_rooms.statuses.get(str(room.id), zone_id=other),
            lambda: zone_writer.waiting_rooms.settings.get(zone_id=other),
            lambda: zone_writer.waiting_rooms.page.preview(zone_id=other, custom_html="<p>x</p>"),
        ]
        for call in calls:
            code, _ = assert_cloudflare_error(raises(cloudflare.PermissionDeniedError, call), 403)
            assert FORBIDDEN == code
        assert before == room_snapshot(cf, other)

    def test_account_list_shows_only_allowed_zones(
        self, cf: cloudflare.Cloudflare, zone_writer: cloudflare.Cloudflare, api_server: ApiServer
    ) -> None:
        """The account-level list with a zone-limited token holds only that zone's rooms."""
        mine = new_room(cf, api_server.zone_id)
        theirs = new_room(cf, api_server.other_zone_id, "other.test", host=unique_host("other.test"))
        listed = {str(r.id) for r in zone_writer.waiting_rooms.list(account_id=api_server.account_id, per_page=100)}
        own_zone = {str(r.id) for r in cf.waiting_rooms.list(zone_id=api_server.zone_id, per_page=100)}
        assert str(mine.id) in listed and str(theirs.id) not in listed
        assert own_zone == listed
