"""The gateway's view of the configuration: one immutable snapshot, swapped whole.

The :class:`~antechamber.gateway.follower.ConfigFollower` builds a new
:class:`GatewayConfig` whenever the store changes; the hot path only reads
``source.current``, so a request never waits on the store and never sees half
of an update.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from antechamber.core.config import EventSettings, RoomSettings
from antechamber.core.cookie import COOKIE_PREFIX, cookie_name
from antechamber.gateway.convert import (
    CookiePolicy,
    cookie_policy_from_body,
    event_from_body,
    room_from_body,
    routes_from_body,
)
from antechamber.gateway.routing import Route, RouteTable
from antechamber.rules.bypass import room_matcher
from antechamber.rules.compile import ListItems, Matcher, never

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RoomEntry:
    """Everything the gateway needs about one room; every route of the room shares it (and its cookie)."""

    room: RoomSettings
    events: tuple[EventSettings, ...]
    zone_id: str
    cookie_name: str
    cookie: CookiePolicy
    routes: tuple[tuple[str, str], ...]
    #: The room's bypass rules as stored (``expression``, ``action``, ``enabled``), in order.
    rules: tuple[Mapping[str, Any], ...] = ()
    #: The zone's ``search_engine_crawler_bypass``.
    crawler_bypass: bool = False
    #: The enabled rules compiled: the position of the first that matches a request, or -1.
    bypass: Matcher = never

    @property
    def room_id(self) -> str:
        return self.room.id


@dataclass(frozen=True, slots=True)
class StoredConfig:
    """The raw material of a :class:`GatewayConfig`: bodies as the store keeps them."""

    #: (room id, zone id, body)
    rooms: Sequence[tuple[str, str, Mapping[str, Any]]]
    #: room id -> [(event id, body)]
    events: Mapping[str, Sequence[tuple[str, Mapping[str, Any]]]] = field(default_factory=dict)
    #: room id -> rules in order
    rules: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    #: zone id -> search_engine_crawler_bypass
    crawler_bypass: Mapping[str, bool] = field(default_factory=dict)
    #: zone id -> the zone's account's named lists (name -> kind and items), for ``ip.src in $name``
    lists: Mapping[str, Mapping[str, ListItems]] = field(default_factory=dict)


class GatewayConfig:
    """Routes to rooms, and rooms by id. Never mutated after construction."""

    __slots__ = ("rooms", "routes", "version")

    def __init__(self, entries: Iterable[RoomEntry] = (), *, version: str = "") -> None:
        self.rooms: Mapping[str, RoomEntry] = {entry.room_id: entry for entry in entries}
        self.routes: RouteTable[RoomEntry] = RouteTable(
            Route(host, path, entry) for entry in self.rooms.values() for host, path in entry.routes
        )
        #: A fingerprint of the stored data this was built from (empty for hand-built configs).
        self.version = version

    def match(self, host: str, path: str) -> RoomEntry | None:
        """The room covering ``host`` and ``path``, if any."""
        return self.routes.match(host, path)


EMPTY_CONFIG = GatewayConfig()


class ConfigSource(Protocol):
    """Anything that hands out the configuration currently in force."""

    @property
    def current(self) -> GatewayConfig: ...


class StaticConfig:
    """A fixed configuration (tests, or a gateway without a store); ``current`` can be replaced."""

    __slots__ = ("current",)

    def __init__(self, config: GatewayConfig = EMPTY_CONFIG) -> None:
        self.current = config


def entry_from_stored(
    room_id: str,
    zone_id: str,
    body: Mapping[str, Any],
    events: Sequence[tuple[str, Mapping[str, Any]]] = (),
    rules: Sequence[Mapping[str, Any]] = (),
    *,
    crawler_bypass: bool = False,
    cookie_prefix: str = COOKIE_PREFIX,
    lists: Mapping[str, ListItems] | None = None,
    geo: bool = False,
) -> RoomEntry:
    """One room's entry from its stored body, events and rules; raises on a malformed body.

    ``geo`` says this node has a geo database, so rules on geo fields can run.
    """
    return RoomEntry(
        room=room_from_body(room_id, body),
        events=tuple(event_from_body(event_id, event_body) for event_id, event_body in events),
        zone_id=zone_id,
        cookie_name=cookie_name(str(body.get("cookie_suffix") or ""), prefix=cookie_prefix),
        cookie=cookie_policy_from_body(body),
        routes=tuple(routes_from_body(body)),
        rules=tuple(rules),
        crawler_bypass=crawler_bypass,
        bypass=room_matcher(room_id, rules, lists or {}, geo=geo),
    )


def build_config(
    stored: StoredConfig, *, version: str = "", cookie_prefix: str = COOKIE_PREFIX, geo: bool = False
) -> GatewayConfig:
    """A :class:`GatewayConfig` from stored data.

    A room whose body cannot be read is left out (and logged) rather than
    taking every other room down with it; its routes then go straight to the origin.
    """
    entries = []
    for room_id, zone_id, body in stored.rooms:
        try:
            entries.append(
                entry_from_stored(
                    room_id,
                    zone_id,
                    body,
                    stored.events.get(room_id, ()),
                    stored.rules.get(room_id, ()),
                    crawler_bypass=stored.crawler_bypass.get(zone_id, False),
                    cookie_prefix=cookie_prefix,
                    lists=stored.lists.get(zone_id),
                    geo=geo,
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            logger.error("room %s has an unreadable stored configuration, skipping it: %r", room_id, exc)
    return GatewayConfig(entries, version=version)
