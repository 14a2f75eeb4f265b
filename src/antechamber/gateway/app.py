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
from collections.abc import Coroutine, Iterable, Mapping, MutableMapping
from time import perf_counter_ns
from typing import Any

from antechamber.core.cookie import CookieCodec
from antechamber.core.types import Outcome, Random
from antechamber.crawlers import CrawlerVerifier
from antechamber.gateway.admission import Admission, BypassCheck, Clock, Verdict, visitor_queue_reply, wall_clock_ms
from antechamber.gateway.challenge import ChallengeGate
from antechamber.gateway.config import ConfigSource
from antechamber.gateway.forward_auth import PREFIX, ForwardAuth
from antechamber.gateway.pages import Reply, Send, send_reply, text_reply
from antechamber.gateway.proxy import Hop, OnCommand, Receive, forward
from antechamber.gateway.request import (
    DEFAULT_TRUSTED,
    TrustedProxies,
    Visitor,
    client_address,
    first_values,
    forwarded_scheme,
)
from antechamber.gateway.routing import normalize_host
from antechamber.gateway.timing import NO_ROOM, RequestTimings
from antechamber.gateway.upstream import Origin, Upstream
from antechamber.gateway.websocket import bridge, refuse
from antechamber.rules.request import GeoLookup
from antechamber.state.base import RoomState

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]


class Forward:
    """The request goes on to the origin along ``hop``, with these cookies added to the answer."""

    __slots__ = ("cookies", "hop", "on_command")

    def __init__(self, hop: Hop, cookies: tuple[bytes, ...] = (), on_command: OnCommand | None = None) -> None:
        self.hop = hop
        self.cookies = cookies
        self.on_command = on_command


class Deferred:
    """An answer that needs one await first: a slot drawn from the shared pool (Redis backend only)."""

    __slots__ = ("action",)

    def __init__(self, action: Coroutine[Any, Any, Reply | Forward]) -> None:
        self.action = action


Action = Reply | Forward | Deferred


class Gateway:
    """The ASGI application; build it with :func:`create_gateway`."""

    __slots__ = ("_default_origin", "_endpoints", "_origins", "_timings", "admission", "trusted", "upstream")

    def __init__(
        self,
        admission: Admission,
        upstream: Upstream,
        *,
        default_origin: Origin | None,
        origins: Mapping[str, Origin],
        trusted: TrustedProxies,
    ) -> None:
        self.admission = admission
        self.upstream = upstream
        self.trusted = trusted
        self._default_origin = default_origin
        self._origins = dict(origins)
        self._endpoints = ForwardAuth(admission, trusted)
        self._timings: RequestTimings | None = None

    @property
    def timings(self) -> RequestTimings | None:
        """Where request latencies and origin failures are tallied (None: not timed, the default)."""
        return self._timings

    @timings.setter
    def timings(self, timings: RequestTimings | None) -> None:
        self._timings = timings
        self._endpoints.timings = timings

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

    def origin_for(self, host: str) -> Origin | None:
        """The origin serving ``host``: its own mapping, else the default origin."""
        return self._origins.get(normalize_host(host), self._default_origin)

    def _visitor(self, scope: Scope) -> tuple[Visitor, bool]:
        headers = scope["headers"]
        first = first_values(headers)
        client = scope.get("client")
        peer = client[0] if client else None
        trusted = peer in self.trusted
        raw_host = first.get(b"host")
        if raw_host:
            host = raw_host.decode("latin-1")
        else:
            server = scope.get("server")
            host = str(server[0]) if server else ""
        scheme = forwarded_scheme(
            str(scope.get("scheme", "http")), first.get(b"x-forwarded-proto") if trusted else None
        )
        # Without X-Forwarded-For the visitor is the peer itself (trusted or not).
        client_ip = client_address(peer, headers, self.trusted) if b"x-forwarded-for" in first else peer
        path = scope["path"]
        raw = scope.get("raw_path")
        return Visitor(
            host,
            path,
            scope.get("query_string", b""),
            headers,
            scheme,
            client_ip,
            peer,
            scope.get("method", "GET"),
            raw.partition(b"?")[0] if isinstance(raw, bytes) and raw else None,
        ), trusted

    def handle(self, scope: Scope) -> Action:
        """Decide an HTTP request without I/O: the gateway's own answer, or where to forward it.

        Every server front end calls this (the ASGI ``__call__`` and the raw HTTP/1.1
        server), so both decide exactly alike; only forwarding needs the event loop,
        and a :class:`Deferred` (an admission that must first draw a slot from Redis).
        """
        if scope["path"].startswith(PREFIX):
            reply = self._endpoints.reply(scope)
            return reply if isinstance(reply, Reply) else Deferred(reply)
        timings = self._timings
        start = perf_counter_ns() if timings is not None else 0
        visitor, trusted = self._visitor(scope)
        origin = self.origin_for(visitor.host)
        entry = self.admission.route(visitor.host, visitor.path)
        if entry is None:
            return Forward(Hop(self.upstream, origin, visitor.scheme, visitor.peer, trusted, NO_ROOM, timings))
        hop = Hop(self.upstream, origin, visitor.scheme, visitor.peer, trusted, entry.room_id, timings)
        verdict = self.admission.check(entry, visitor)
        if verdict.pending:
            return Deferred(self._after_draw(verdict, visitor, hop, start))
        action = self._act(verdict, visitor, hop)
        if timings is not None:
            timings.decided(verdict, perf_counter_ns() - start)
        return action

    async def _after_draw(self, verdict: Verdict, visitor: Visitor, hop: Hop, start: int) -> Reply | Forward:
        verdict = await self.admission.settle(verdict, visitor)
        action = self._act(verdict, visitor, hop)
        if hop.timings is not None:
            hop.timings.decided(verdict, perf_counter_ns() - start)
        return action

    def _act(self, verdict: Verdict, visitor: Visitor, hop: Hop) -> Reply | Forward:
        if verdict.passes:

            def on_command(value: bytes) -> tuple[bytes, ...]:
                return self._origin_command(verdict, visitor, value)

            return Forward(hop, verdict.set_cookies, on_command)
        return self._queue_reply(verdict, visitor)

    def _origin_command(self, verdict: Verdict, visitor: Visitor, value: bytes) -> tuple[bytes, ...]:
        """Act on ``Cf-Waiting-Room-Command``: ``revoke`` ends the session when the room enables it."""
        commands = {token.strip().lower() for token in value.split(b",")}
        ticket = verdict.decision.ticket
        if (
            b"revoke" in commands
            and "revoke" in verdict.config.enabled_origin_commands
            and verdict.outcome is Outcome.ORIGIN
            and ticket is not None
        ):
            _, clear = self.admission.revoke(verdict.entry, ticket, visitor, verdict.now_ms)
            return (clear,)
        return verdict.set_cookies

    def _queue_reply(self, verdict: Verdict, visitor: Visitor) -> Reply:
        reply = visitor_queue_reply(verdict, visitor)
        reply.headers.extend((b"set-cookie", c) for c in verdict.set_cookies)
        return reply

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        if message.get("type") != "websocket.connect":
            return
        visitor, trusted = self._visitor(scope)
        if visitor.path.startswith(PREFIX):
            await refuse(scope, send, text_reply(404, "Not found"))
            return
        entry = self.admission.route(visitor.host, visitor.path)
        room_id = NO_ROOM if entry is None else entry.room_id
        origin = self.origin_for(visitor.host)
        hop = Hop(self.upstream, origin, visitor.scheme, visitor.peer, trusted, room_id, self._timings)
        if entry is None:
            await bridge(scope, receive, send, hop)
            return
        verdict = self.admission.check(entry, visitor, websocket=True)
        if verdict.pending:
            verdict = await self.admission.settle(verdict, visitor, websocket=True)
        if verdict.passes:
            await bridge(scope, receive, send, hop, cookies=verdict.set_cookies)
        else:
            await refuse(scope, send, self._queue_reply(verdict, visitor))

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
