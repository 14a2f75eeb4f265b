"""Stored room and event bodies into the core's dataclasses."""

from __future__ import annotations

import pytest

from antechamber.core.config import EventSettings, RoomSettings
from antechamber.gateway.config import StoredConfig, build_config
from antechamber.gateway.convert import (
    CookiePolicy,
    cookie_policy_from_body,
    event_from_body,
    iso_to_ms,
    room_from_body,
    routes_from_body,
)
from tests.gateway.harness import room_body


class TestIsoToMs:
    def test_z_suffix(self) -> None:
        """A ``Z`` timestamp converts to epoch milliseconds, keeping the milliseconds."""
        assert 1_780_315_200_123 == iso_to_ms("2026-06-01T12:00:00.123Z")

    def test_offset_and_naive(self) -> None:
        """An explicit offset is honoured and a naive timestamp means UTC."""
        assert iso_to_ms("2026-06-01T14:00:00+02:00") == iso_to_ms("2026-06-01T12:00:00")


class TestRoomFromBody:
    def test_api_shaped_body(self) -> None:
        """Every decision field of an API-stored body reaches RoomSettings."""
        body = room_body(
            total_active_users=7,
            new_users_per_minute=3,
            session_duration=9,
            queueing_method="random",
            queue_all=True,
            queueing_status_code=429,
            json_response_enabled=True,
            custom_page_html="<p>{{waitTime}}</p>",
            default_template_language="fr-FR",
            enabled_origin_commands=["revoke"],
            disable_session_renewal=True,
            cookie_suffix="shop",
        )
        assert RoomSettings(
            id="r1",
            total_active_users=7,
            new_users_per_minute=3,
            session_duration=9,
            disable_session_renewal=True,
            queueing_method="random",
            queue_all=True,
            queueing_status_code=429,
            json_response_enabled=True,
            custom_page_html="<p>{{waitTime}}</p>",
            default_template_language="fr-FR",
            enabled_origin_commands=("revoke",),
        ) == room_from_body("r1", body)

    def test_minimal_body_takes_defaults(self) -> None:
        """Fields missing from a body take Cloudflare's defaults."""
        room = room_from_body("r", {"host": "a.example", "total_active_users": 5, "new_users_per_minute": 6})
        assert (room.queueing_method, room.session_duration, room.queueing_status_code) == ("fifo", 5, 200)

    def test_unknown_enum_falls_back(self) -> None:
        """An unknown queueing method cannot reach the core; it becomes fifo."""
        body = {"total_active_users": 5, "new_users_per_minute": 6, "queueing_method": "lottery"}
        assert "fifo" == room_from_body("r", body).queueing_method


class TestEventFromBody:
    def test_times_and_overrides(self) -> None:
        """Event times become epoch ms; null overrides stay None so they inherit the room."""
        body = {
            "name": "launch",
            "event_start_time": "2026-06-01T12:10:00.000Z",
            "event_end_time": "2026-06-01T13:00:00.000Z",
            "prequeue_start_time": "2026-06-01T12:00:00.000Z",
            "shuffle_at_event_start": True,
            "queueing_method": "random",
            "total_active_users": None,
            "session_duration": 3,
        }
        assert EventSettings(
            id="e1",
            event_start_time=1_780_315_800_000,
            event_end_time=1_780_318_800_000,
            prequeue_start_time=1_780_315_200_000,
            shuffle_at_event_start=True,
            name="launch",
            session_duration=3,
            queueing_method="random",
        ) == event_from_body("e1", body)

    def test_missing_time_raises(self) -> None:
        """A body without a start time is refused (the follower then skips the room)."""
        with pytest.raises(KeyError):
            event_from_body("e", {"event_end_time": "2026-06-01T13:00:00Z"})


class TestCookieAndRoutes:
    def test_cookie_policy(self) -> None:
        """cookie_attributes are read, and junk falls back to auto."""
        assert CookiePolicy("strict", "always") == cookie_policy_from_body(
            {"cookie_attributes": {"samesite": "strict", "secure": "always"}}
        )
        assert CookiePolicy() == cookie_policy_from_body({"cookie_attributes": {"samesite": 3}})
        assert CookiePolicy() == cookie_policy_from_body({})

    def test_routes(self) -> None:
        """The primary route comes first, then the additional routes (path defaulting to /)."""
        body = {"host": "a.example", "path": "/shop", "additional_routes": [{"host": "b.example"}]}
        assert [("a.example", "/shop"), ("b.example", "/")] == routes_from_body(body)


class TestBuildConfig:
    def test_additional_routes_share_the_entry(self) -> None:
        """Every route of a room maps to one entry, so they share one cookie."""
        body = room_body(cookie_suffix="s", additional_routes=[{"host": "b.example.com", "path": "/x"}])
        config = build_config(StoredConfig(rooms=[("r1", "z", body)]))
        first, second = config.match("shop.example.com", "/"), config.match("B.example.com:8443", "/x/y")
        assert first is not None and first is second
        assert "__cfwaitingroom_s" == first.cookie_name

    def test_broken_room_is_skipped(self) -> None:
        """A room whose body cannot be read is left out; the others still load."""
        good = room_body()
        broken = {"host": "bad.example.com"}  # no limits
        config = build_config(StoredConfig(rooms=[("bad", "z", broken), ("ok", "z", good)]))
        assert ["ok"] == list(config.rooms)

    def test_events_rules_and_crawler_setting(self) -> None:
        """Events, rules and the zone's crawler bypass land on the room's entry."""
        stored = StoredConfig(
            rooms=[("r", "z", room_body())],
            events={
                "r": [("e", {"event_start_time": "2026-06-01T12:00:00Z", "event_end_time": "2026-06-01T13:00:00Z"})]
            },
            rules={"r": [{"id": "x", "expression": "true", "action": "bypass_waiting_room", "enabled": True}]},
            crawler_bypass={"z": True},
        )
        entry = build_config(stored).rooms["r"]
        assert ("e",) == tuple(e.id for e in entry.events)
        assert 1 == len(entry.rules) and entry.crawler_bypass
