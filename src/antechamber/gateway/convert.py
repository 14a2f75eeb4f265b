"""Stored room and event bodies (Cloudflare JSON) into the core's dataclasses.

The config store keeps what the API speaks: ISO 8601 times, lists, strings.
The core wants integer epoch milliseconds and tuples. This module is the one
place that translates, so the API's shapes and the core's stay independent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from antechamber.core.config import EventSettings, RoomSettings
from antechamber.core.types import QueueingMethod, TurnstileAction, TurnstileMode
from antechamber.db.ids import parse_timestamp

SameSite = Literal["auto", "lax", "strict", "none"]
Secure = Literal["auto", "always", "never"]

_METHODS = ("fifo", "random", "passthrough", "reject")
_TURNSTILE_MODES = ("off", "invisible", "visible_non_interactive", "visible_managed")
_TURNSTILE_ACTIONS = ("log", "infinite_queue")


@dataclass(frozen=True, slots=True)
class CookiePolicy:
    """A room's ``cookie_attributes``."""

    samesite: SameSite = "auto"
    secure: Secure = "auto"


def iso_to_ms(text: str) -> int:
    """An ISO 8601 timestamp (naive means UTC) as integer ms since the epoch."""
    moment = parse_timestamp(text)
    return int(moment.timestamp()) * 1000 + moment.microsecond // 1000


def _choice(value: Any, allowed: tuple[str, ...], default: str) -> str:
    return value if isinstance(value, str) and value in allowed else default


def room_from_body(room_id: str, body: Mapping[str, Any]) -> RoomSettings:
    """A room's decision settings from its stored body; missing fields take Cloudflare's defaults."""
    commands = body.get("enabled_origin_commands") or ()
    return RoomSettings(
        id=room_id,
        total_active_users=int(body["total_active_users"]),
        new_users_per_minute=int(body["new_users_per_minute"]),
        session_duration=int(body.get("session_duration", 5)),
        disable_session_renewal=bool(body.get("disable_session_renewal", False)),
        queueing_method=cast(QueueingMethod, _choice(body.get("queueing_method"), _METHODS, "fifo")),
        queue_all=bool(body.get("queue_all", False)),
        suspended=bool(body.get("suspended", False)),
        queueing_status_code=int(body.get("queueing_status_code", 200)),
        json_response_enabled=bool(body.get("json_response_enabled", False)),
        custom_page_html=str(body.get("custom_page_html") or ""),
        default_template_language=str(body.get("default_template_language") or "en-US"),
        turnstile_mode=cast(TurnstileMode, _choice(body.get("turnstile_mode"), _TURNSTILE_MODES, "invisible")),
        turnstile_action=cast(TurnstileAction, _choice(body.get("turnstile_action"), _TURNSTILE_ACTIONS, "log")),
        enabled_origin_commands=tuple(str(c) for c in commands),
    )


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def event_from_body(event_id: str, body: Mapping[str, Any]) -> EventSettings:
    """An event from its stored body: times to epoch ms, ``null`` overrides kept as ``None``."""
    prequeue = body.get("prequeue_start_time")
    method = body.get("queueing_method")
    mode = body.get("turnstile_mode")
    action = body.get("turnstile_action")
    html = body.get("custom_page_html")
    return EventSettings(
        id=event_id,
        event_start_time=iso_to_ms(body["event_start_time"]),
        event_end_time=iso_to_ms(body["event_end_time"]),
        prequeue_start_time=None if prequeue is None else iso_to_ms(prequeue),
        shuffle_at_event_start=bool(body.get("shuffle_at_event_start", False)),
        suspended=bool(body.get("suspended", False)),
        name=str(body.get("name", "")),
        total_active_users=_opt_int(body.get("total_active_users")),
        new_users_per_minute=_opt_int(body.get("new_users_per_minute")),
        session_duration=_opt_int(body.get("session_duration")),
        disable_session_renewal=_opt_bool(body.get("disable_session_renewal")),
        queueing_method=None if method is None else cast(QueueingMethod, _choice(method, _METHODS, "fifo")),
        custom_page_html=None if html is None else str(html),
        turnstile_mode=None if mode is None else cast(TurnstileMode, _choice(mode, _TURNSTILE_MODES, "invisible")),
        turnstile_action=None if action is None else cast(TurnstileAction, _choice(action, _TURNSTILE_ACTIONS, "log")),
    )


def cookie_policy_from_body(body: Mapping[str, Any]) -> CookiePolicy:
    """The room's ``cookie_attributes``; anything unknown falls back to ``auto``."""
    attrs = body.get("cookie_attributes")
    if not isinstance(attrs, Mapping):
        return CookiePolicy()
    samesite = _choice(attrs.get("samesite"), ("auto", "lax", "strict", "none"), "auto")
    secure = _choice(attrs.get("secure"), ("auto", "always", "never"), "auto")
    return CookiePolicy(cast(SameSite, samesite), cast(Secure, secure))


def routes_from_body(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The room's (host, path) pairs: the primary route first, then ``additional_routes``."""
    routes = [(str(body["host"]), str(body.get("path") or "/"))]
    for extra in body.get("additional_routes") or ():
        if isinstance(extra, Mapping) and extra.get("host"):
            routes.append((str(extra["host"]), str(extra.get("path") or "/")))
    return routes
