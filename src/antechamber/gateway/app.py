"""The gateway: a plain ASGI app in front of the origin (no framework on the hot path).

Per request: route (host, longest path prefix) → the room's effective config
→ open the cookie → decide → apply the counter changes locally → either
stream the request to the origin and back (with ``Set-Cookie`` when the
ticket changed), or answer with the queue/reject page. ``/.antechamber/*``
is the gateway's own (see :mod:`antechamber.gateway.forward_auth`).

Run uvicorn with ``proxy_headers=False``: the gateway applies its own
trusted-proxy list to ``X-Forwarded-*`` and needs the real TCP peer.

With :attr:`Gateway.timings` set, each decision and each proxied round trip is
timed into it by outcome (:mod:`antechamber.gateway.timing`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from time import perf_counter_ns

from antechamber.core.cookie import CookieCodec
from antechamber.core.types import Random
from antechamber.crawlers import CrawlerVerifier
from antechamber.gateway.admission import Admission, BypassCheck, Clock, Verdict, wall_clock_ms
from antechamber.gateway.challenge import ChallengeGate
from antechamber.gateway.config import ConfigSource
from antechamber.gateway.pages import Reply, Send, send_reply
from antechamber.gateway.proxy import Hop, OnCommand, Receive, forward
from antechamber.gateway.request import DEFAULT_TRUSTED, TrustedProxies, Visitor
from antechamber.gateway.request_path import Deferred, RequestPath, Scope
from antechamber.gateway.routing import normalize_host
from antechamber.gateway.timing import ADMITTED
from antechamber.gateway.upstream import Origin, Upstream
from antechamber.gateway.websocket import bridge, refuse
from antechamber.rules.request import GeoLookup
from antechamber.state.base import RoomState

logger = logging.getLogger(__name__)


class Forward:
    """The request goes on to the origin along ``hop``, with these cookies added to the answer."""

    __slots__ = ("cookies", "hop", "on_command")

    def __init__(self, hop: Hop, cookies: tuple[bytes, ...] = (), on_command: OnCommand | None = None) -> None:
        self.hop = hop
        self.cookies = cookies
        self.on_command = on_command


Action = Reply | Forward | Deferred[Forward]


class Gateway(RequestPath[Forward]):
    """The ASGI application; build it with :func:`create_gateway`."""

    __slots__ = ("_default_origin", "_origins", "upstream")

    def __init__(
        self,
        admission: Admission,
        upstream: Upstream,
        *,
        default_origin: Origin | None,
        origins: Mapping[str, Origin],
        trusted: TrustedProxies,
    ) -> None:
        super().__init__(admission, trusted)
        self.upstream = upstream
        self._default_origin = default_origin
        self._origins = dict(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            action = self.handle(scope)
            if isinstance(action, Deferred):
                action = await action.action
            if isinstance(action, Reply):
                await send_reply(send, action, head_only=scope["method"] == "HEAD")
            else:
                await forward(scope, receive, send, action.hop, cookies=action.cookies, on_command=action.on_command)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            await _lifespan(receive, send)

    def handle(self, scope: Scope) -> Action:
        """:meth:`RequestPath.handle`, except that an admitted visitor's ordinary request goes on undecided."""
        timings = self._timings
        start = perf_counter_ns() if timings is not None else 0
        entry = self.untouched_room(scope)
        if entry is None:
            return super().handle(scope)
        visitor, trusted = self.visitor(scope)
        hop = Hop(self.upstream, self.origin_for(visitor.host), visitor.scheme, visitor.peer, trusted, entry.room_id,
                  timings)  # fmt: skip
        if timings is not None:
            timings.record(entry.room_id, ADMITTED, perf_counter_ns() - start)

        def on_command(value: bytes) -> tuple[bytes, ...]:
            # The origin's command needs the session's verdict: decided now (nothing changes
            # for an unchanged session's request, so deciding it late counts nothing twice).
            action = super(Gateway, self).handle(scope)
            if isinstance(action, Deferred):  # (its session ended meanwhile: a newcomer's draw)
                action.action.close()
                return ()
            if isinstance(action, Forward) and action.on_command is not None:
                return action.on_command(value)
            return ()

        return Forward(hop, (), on_command)

    def origin_for(self, host: str) -> Origin | None:
        """The origin serving ``host``: its own mapping, else the default origin."""
        return self._origins.get(normalize_host(host), self._default_origin)

    def onward(
        self, visitor: Visitor, trusted: bool, room_id: str, cookies: tuple[bytes, ...], verdict: Verdict | None
    ) -> Forward:
        """Forward to the host's origin; in a room, the origin's ``Cf-Waiting-Room-Command`` is acted on."""
        hop = Hop(self.upstream, self.origin_for(visitor.host), visitor.scheme, visitor.peer, trusted, room_id,
                  self._timings)  # fmt: skip
        if verdict is None:
            return Forward(hop)

        def on_command(value: bytes) -> tuple[bytes, ...]:
            return self.origin_command(verdict, visitor, value)

        return Forward(hop, cookies, on_command)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        if message.get("type") != "websocket.connect":
            return
        action = self.handle_websocket(scope)
        if isinstance(action, Deferred):
            action = await action.action
        if isinstance(action, Reply):
            await refuse(scope, send, action)
        else:
            await bridge(scope, receive, send, action.hop, cookies=action.cookies)

    async def aclose(self) -> None:
        """Close the upstream pool (and Turnstile's siteverify client)."""
        await self.upstream.aclose()
        challenge = self.admission.challenge
        if challenge is not None and challenge.turnstile is not None:
            await challenge.turnstile.siteverify.aclose()


async def _lifespan(receive: Receive, send: Send) -> None:
    # The gateway owns no start-up work (the caller starts the follower); just acknowledge.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_gateway(
    source: ConfigSource,
    state: RoomState,
    codec: CookieCodec,
    upstream: Upstream,
    *,
    default_origin: str | None = None,
    origins: Mapping[str, str] | None = None,
    trusted_proxies: Iterable[str] = DEFAULT_TRUSTED,
    clock: Clock = wall_clock_ms,
    rng: Random | None = None,
    bypass: BypassCheck | None = None,
    geo: GeoLookup | None = None,
    crawlers: CrawlerVerifier | None = None,
    challenge: ChallengeGate | None = None,
) -> Gateway:
    """Build the gateway ASGI app.

    Args:
        source: the configuration in force (a started ``ConfigFollower``, or ``StaticConfig``).
        state: the room counters.
        codec: seals and opens room cookies.
        upstream: the client for the origin (``UpstreamPool``).
        default_origin: ``http(s)://host[:port]`` for hosts without their own origin.
        origins: host → origin URL, for sites with their own origin.
        trusted_proxies: IPs/CIDRs whose ``X-Forwarded-*`` are believed (default: loopback).
        clock: current time in epoch ms (injected by tests).
        rng: random source for ranks and lottery draws (default: ``SystemRandom``).
        bypass: an extra bypass check per request, after the rooms' rules (default: none).
        geo: answers the geo fields of bypass rules (a ``GeoDatabase.lookup``; default: no geo database).
        crawlers: verifies search-engine crawlers for zones with ``search_engine_crawler_bypass``.
        challenge: the challenge behind ``turnstile_mode`` (ALTCHA or Turnstile); None shows none.

    Example::

        gateway = create_gateway(follower, MemoryState(), CookieCodec(load_or_create_keys(data_dir)),
                                 UpstreamPool(), default_origin="http://127.0.0.1:3000")
    """
    admission = Admission(source, state, codec, clock=clock, rng=rng, bypass=bypass, geo=geo, crawlers=crawlers)
    admission.challenge = challenge
    return Gateway(
        admission,
        upstream,
        default_origin=Origin.parse(default_origin) if default_origin else None,
        origins={normalize_host(host): Origin.parse(url) for host, url in (origins or {}).items()},
        trusted=TrustedProxies(trusted_proxies),
    )
