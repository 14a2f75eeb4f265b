"""One request path for every way Antechamber sits in front of a site: decide, then let through or answer.

The gateway (a reverse proxy) and the in-app middleware (:mod:`antechamber.middleware`)
decide each HTTP request with this same code: route by host and path, open the
cookie, decide, count, and either answer by themselves (the queue page, JSON, the
``/.antechamber/*`` endpoints) or let the request go on. Only "go on" differs: the
gateway forwards it to the origin, the middleware calls the app it wraps. So
:class:`RequestPath` leaves one method to its subclasses, :meth:`RequestPath.onward`,
which says what "go on" is; nothing else of the decision has a second copy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Coroutine, MutableMapping
from time import perf_counter_ns
from typing import Any, Generic, TypeVar

from antechamber.core.types import Outcome
from antechamber.gateway.admission import Admission, Verdict, visitor_queue_reply
from antechamber.gateway.config import RoomEntry
from antechamber.gateway.forward_auth import PREFIX, ForwardAuth
from antechamber.gateway.pages import Reply, text_reply
from antechamber.gateway.request import TrustedProxies, Visitor, client_address, first_values, forwarded_scheme
from antechamber.gateway.timing import NO_ROOM, RequestTimings

Scope = MutableMapping[str, Any]
OnwardT = TypeVar("OnwardT")


class Deferred(Generic[OnwardT]):
    """An answer that needs one await first: a slot drawn from the shared pool (Redis backend only)."""

    __slots__ = ("action",)

    def __init__(self, action: Coroutine[Any, Any, Reply | OnwardT]) -> None:
        self.action = action


class RequestPath(ABC, Generic[OnwardT]):
    """Decides HTTP requests; a subclass says what letting one through is (:meth:`onward`)."""

    __slots__ = ("_endpoints", "_timings", "admission", "trusted")

    def __init__(self, admission: Admission, trusted: TrustedProxies) -> None:
        self.admission = admission
        self.trusted = trusted
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

    @abstractmethod
    def onward(
        self,
        visitor: Visitor,
        trusted: bool,
        room_id: str,
        cookies: tuple[bytes, ...],
        verdict: Verdict | None,
    ) -> OnwardT:
        """What letting this request through is: ``cookies`` go on its answer; ``verdict`` is None outside rooms."""

    def handle(self, scope: Scope) -> Reply | OnwardT | Deferred[OnwardT]:
        """Decide an HTTP request without I/O: Antechamber's own answer, or the request goes on.

        Every front end calls this (the gateway's ASGI ``__call__`` and its raw HTTP/1.1
        server, the ASGI, WSGI and Django middleware), so all decide exactly alike; a
        :class:`Deferred` is an admission that must first draw a slot from Redis.
        """
        if scope["path"].startswith(PREFIX):
            reply = self._endpoints.reply(scope)
            return reply if isinstance(reply, Reply) else Deferred(reply)
        timings = self._timings
        start = perf_counter_ns() if timings is not None else 0
        visitor, trusted = self.visitor(scope)
        entry = self.admission.route(visitor.host, visitor.path)
        if entry is None:
            return self.onward(visitor, trusted, NO_ROOM, (), None)
        verdict = self.admission.check(entry, visitor)
        if verdict.pending:
            return Deferred(self._after_draw(verdict, visitor, trusted, start))
        action = self._act(verdict, visitor, trusted)
        if timings is not None:
            timings.decided(verdict, perf_counter_ns() - start)
        return action

    def untouched_room(self, scope: Scope) -> RoomEntry | None:
        """The room of an admitted visitor's request that :meth:`handle` would let through changing nothing.

        Such a request needs no decision. Found from the Host and Cookie headers alone (no
        :class:`Visitor`, no verdict), by :meth:`~antechamber.gateway.admission.Admission.quiet_room`.
        Anything else (several Cookie headers, no Host, the endpoints) is None: for :meth:`handle`.
        """
        host = cookie = None
        for name, value in scope["headers"]:
            if name == b"cookie":
                if cookie is not None:
                    return None
                cookie = value
            elif name == b"host" and host is None:
                host = value
        if host is None or cookie is None:
            return None
        return self.quiet_room(host, scope["path"], cookie)

    def quiet_room(self, host: bytes, path: str, cookie_header: bytes) -> RoomEntry | None:
        """The room of a request for ``host`` and ``path`` with this one Cookie header that goes on undecided."""
        if path.startswith(PREFIX):
            return None
        return self.admission.quiet_room(host, path, cookie_header)

    async def _after_draw(self, verdict: Verdict, visitor: Visitor, trusted: bool, start: int) -> Reply | OnwardT:
        verdict = await self.admission.settle(verdict, visitor)
        action = self._act(verdict, visitor, trusted)
        if self._timings is not None:
            self._timings.decided(verdict, perf_counter_ns() - start)
        return action

    def _act(self, verdict: Verdict, visitor: Visitor, trusted: bool) -> Reply | OnwardT:
        if verdict.passes:
            return self.onward(visitor, trusted, verdict.entry.room_id, verdict.set_cookies, verdict)
        return self.queue_reply(verdict, visitor)

    def handle_websocket(self, scope: Scope) -> Reply | OnwardT | Deferred[OnwardT]:
        """Decide a WebSocket upgrade as :meth:`handle` decides a request (a :class:`Reply` refuses it)."""
        visitor, trusted = self.visitor(scope)
        if visitor.path.startswith(PREFIX):
            return text_reply(404, "Not found")
        entry = self.admission.route(visitor.host, visitor.path)
        if entry is None:
            return self.onward(visitor, trusted, NO_ROOM, (), None)
        verdict = self.admission.check(entry, visitor, websocket=True)
        if verdict.pending:
            return Deferred(self._upgrade_after_draw(verdict, visitor, trusted))
        return self._act(verdict, visitor, trusted)

    async def _upgrade_after_draw(self, verdict: Verdict, visitor: Visitor, trusted: bool) -> Reply | OnwardT:
        return self._act(await self.admission.settle(verdict, visitor, websocket=True), visitor, trusted)

    def visitor(self, scope: Scope) -> tuple[Visitor, bool]:
        """The visitor's request as ``scope`` describes it, and whether its peer is a trusted proxy."""
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

    def origin_command(self, verdict: Verdict, visitor: Visitor, value: bytes) -> tuple[bytes, ...]:
        """Act on ``Cf-Waiting-Room-Command``: ``revoke`` ends the session when the room enables it.

        Returns the ``Set-Cookie`` values the answer carries instead of the planned ones.
        """
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

    def queue_reply(self, verdict: Verdict, visitor: Visitor) -> Reply:
        """The queue (or reject) page for a visitor who may not go on, with its cookies."""
        reply = visitor_queue_reply(verdict, visitor)
        reply.headers.extend((b"set-cookie", c) for c in verdict.set_cookies)
        return reply
