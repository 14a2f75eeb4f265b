"""The gateway's own endpoints under ``/.antechamber/``: forward auth, the nginx page, revoke.

The proxy in front (nginx, Caddy, Traefik) describes the visitor's original
request with ``X-Forwarded-Host`` / ``X-Forwarded-Uri`` (nginx: ``X-Original-URI``)
and passes the visitor's ``Cookie`` header; the answers:

``/.antechamber/auth`` (Caddy ``forward_auth``, Traefik ``ForwardAuth``)
    200 + ``Set-Cookie`` when the visitor may go on. Otherwise the queue page
    itself with status **429** whatever ``queueing_status_code`` says: both
    proxies read any 2xx as "allow" and hand any other answer to the visitor
    verbatim, so a 200/202 queue page would let everyone in.
``/.antechamber/auth/nginx`` (nginx ``auth_request``)
    200 to allow, 401 to deny (nginx accepts only 2xx, 401 and 403), each
    with exactly one ``Set-Cookie`` for ``auth_request_set $wr_cookie
    $upstream_http_set_cookie`` to copy. Each also says whether nginx may keep
    it for a second (``X-Accel-Expires: 1``, else ``0``), for the example's
    ``proxy_cache`` keyed by host and ``Cookie`` header: only the answer to an
    admitted visitor's ordinary request (a valid session, not renewed this time:
    no ``Set-Cookie``, which nginx never caches anyway) on a host that one room
    covers alone. So an admitted visitor's requests reach the gateway about once
    a second and at every renewal (each ``RENEW_STEP_MS``), which keeps the
    active count right; a cookie-less or queued visitor is decided every time.
    What the second costs: a session revoked, expired or turned away by a
    config change still gets through for up to a second.
``/.antechamber/page``
    The queue page for nginx's ``error_page 401 = @waitingroom``. The fresh
    cookie from the auth answer arrives in ``X-Antechamber-Set-Cookie``; the
    page is rendered read-only (the auth call already counted this refresh)
    and re-sends that cookie.
``/.antechamber/revoke`` (POST)
    The origin ends a visitor's session (the forward-auth form of
    ``Cf-Waiting-Room-Command: revoke``), if the room enables ``revoke``.
``/.antechamber/health``
    200 ``ok`` (for load balancers and tests).
"""

from __future__ import annotations

import json
import re
from collections.abc import Coroutine, MutableMapping
from time import perf_counter_ns
from typing import Any

from antechamber.core.types import Outcome
from antechamber.gateway.admission import Admission, Verdict, visitor_queue_reply
from antechamber.gateway.challenge import ChallengeGate
from antechamber.gateway.pages import Reply, Send, send_reply, text_reply
from antechamber.gateway.request import (
    TrustedProxies,
    Visitor,
    first_values,
    forwarded_client,
    forwarded_scheme,
    header,
    split_uri,
)
from antechamber.gateway.timing import ADMITTED, RequestTimings

PREFIX = "/.antechamber/"
AUTH = "/.antechamber/auth"
AUTH_NGINX = "/.antechamber/auth/nginx"
PAGE = "/.antechamber/page"
REVOKE = "/.antechamber/revoke"
HEALTH = "/.antechamber/health"
#: Carries the ``Set-Cookie`` value of the auth answer to the page endpoint.
SET_COOKIE_HEADER = b"x-antechamber-set-cookie"
#: The status of a queue answer to Caddy/Traefik: it must not be 2xx (see the module docstring).
FORWARD_AUTH_QUEUE_STATUS = 429
#: nginx may keep an admitted visitor's auth answer this long, or not at all (see the module docstring).
KEEP_FOR_A_SECOND = (b"x-accel-expires", b"1")
DO_NOT_KEEP = (b"x-accel-expires", b"0")


def _described_target(first: dict[bytes, bytes]) -> tuple[bytes, str]:
    """The Host value (as sent) and the request URI the proxy in front describes (each header's first value)."""
    host = first.get(b"x-forwarded-host") or first.get(b"host") or b""
    uri = (first.get(b"x-forwarded-uri") or first.get(b"x-original-uri") or b"/").decode("latin-1")
    return host, uri


def original_request(
    scope: MutableMapping[str, Any], trusted: TrustedProxies, first: dict[bytes, bytes] | None = None
) -> Visitor:
    """The visitor's request as the proxy in front describes it (``first``: its headers' first values, if read)."""
    headers = scope["headers"]
    if first is None:
        first = first_values(headers)
    client = scope.get("client")
    peer = client[0] if client else None
    raw_host, uri = _described_target(first)
    host = raw_host.decode("latin-1").split(",")[0].strip()
    path, query = split_uri(uri)
    is_trusted = peer in trusted
    scheme = forwarded_scheme(str(scope.get("scheme", "http")), first.get(b"x-forwarded-proto") if is_trusted else None)
    # Without X-Forwarded-For the visitor is the peer itself (trusted or not); the peer's
    # trust is known already (client_address would look it up again).
    client_ip = (
        forwarded_client(peer, headers, trusted)
        if is_trusted and peer is not None and b"x-forwarded-for" in first
        else peer
    )
    # The shipped nginx, Caddy and Traefik setups send X-Forwarded-Method (X-Original-Method is common too).
    method = (first.get(b"x-forwarded-method") or first.get(b"x-original-method") or b"GET").decode("latin-1")
    raw_path = path.encode("latin-1", "replace")
    return Visitor(host, path, query, headers, scheme, client_ip, peer, method, raw_path)


def _cookie_from_header(value: str | None, name: str) -> str | None:
    """The room cookie's value inside a forwarded ``Set-Cookie`` (nginx may have joined several)."""
    if not value or len(value) > 8192:
        return None
    found = re.search(rf"(?:^|[\s,;]){re.escape(name)}=([A-Za-z0-9_-]*)", value)
    return found.group(1) if found else None


class ForwardAuth:
    """Serves every ``/.antechamber/*`` path; nothing under it is ever proxied."""

    __slots__ = ("admission", "timings", "trusted")

    def __init__(self, admission: Admission, trusted: TrustedProxies) -> None:
        self.admission = admission
        self.trusted = trusted
        #: Where the auth decisions' latencies go (the gateway sets it; None: not timed).
        self.timings: RequestTimings | None = None

    async def __call__(self, scope: MutableMapping[str, Any], send: Send) -> None:
        reply = self.reply(scope)
        if not isinstance(reply, Reply):
            reply = await reply
        await send_reply(send, reply, head_only=scope["method"] == "HEAD")

    def reply(self, scope: MutableMapping[str, Any]) -> Reply | Coroutine[Any, Any, Reply]:
        """The answer to a request under ``/.antechamber/``: at once, or after drawing a slot (Redis backend)."""
        path: str = scope["path"]
        if path == AUTH or path == AUTH_NGINX:
            reply = self._auth(scope, nginx=path == AUTH_NGINX)
        elif path == PAGE:
            reply = self._page(original_request(scope, self.trusted))
        elif path == REVOKE:
            reply = self._revoke(scope)
        elif path == HEALTH:
            reply = text_reply(200, "ok")
        elif ChallengeGate.handles(path) and self.admission.challenge is not None:
            reply = self.admission.challenge.reply(self.admission, scope, original_request(scope, self.trusted))
        else:
            reply = text_reply(404, "Not found")
        return reply

    def _auth(self, scope: MutableMapping[str, Any], *, nginx: bool) -> Reply | Coroutine[Any, Any, Reply]:
        timings = self.timings
        start = perf_counter_ns() if timings is not None else 0
        first = first_values(scope["headers"])
        cookie_header = first.get(b"cookie")
        if cookie_header is not None:
            quiet = self._quiet_reply(first, cookie_header, nginx=nginx)
            if quiet is not None:
                if timings is not None:
                    timings.record(quiet[0], ADMITTED, perf_counter_ns() - start)
                return quiet[1]
        visitor = original_request(scope, self.trusted, first)
        entry = self.admission.route(visitor.host, visitor.path)
        if entry is None:
            reply = text_reply(200, "not covered")
            if nginx:
                reply.headers.append(DO_NOT_KEEP)
            return reply
        verdict = self.admission.check(entry, visitor)
        if verdict.pending:
            return self._auth_after_draw(verdict, visitor, start, nginx=nginx)
        reply = self._auth_reply(verdict, visitor, nginx=nginx)
        if timings is not None:
            timings.decided(verdict, perf_counter_ns() - start)
        return reply

    def _quiet_reply(self, first: dict[bytes, bytes], cookie_header: bytes, *, nginx: bool) -> tuple[str, Reply] | None:
        """An admitted visitor's ordinary request, known to change nothing: its room and the 200, undecided.

        See :meth:`~antechamber.gateway.admission.Admission.quiet_room`. Only the first
        Cookie header is looked at: the session it holds was opened from that header alone,
        and the first occurrence of a cookie is the one read, so later headers change nothing.
        """
        host, uri = _described_target(first)
        entry = self.admission.quiet_room(host, split_uri(uri)[0], cookie_header)
        if entry is None:
            return None
        reply = text_reply(200, "session")
        if nginx:
            keep = self.admission.source.current.routes.only_target(host.decode("latin-1")) is entry
            reply.headers.insert(0, KEEP_FOR_A_SECOND if keep else DO_NOT_KEEP)
        return entry.room_id, reply

    async def _auth_after_draw(self, verdict: Verdict, visitor: Visitor, start: int, *, nginx: bool) -> Reply:
        verdict = await self.admission.settle(verdict, visitor)
        reply = self._auth_reply(verdict, visitor, nginx=nginx)
        if self.timings is not None:
            self.timings.decided(verdict, perf_counter_ns() - start)
        return reply

    def _auth_reply(self, verdict: Verdict, visitor: Visitor, *, nginx: bool) -> Reply:
        if verdict.passes:
            reply = text_reply(200, verdict.decision.reason)
        elif nginx:
            reply = text_reply(401, "queued")
        else:
            reply = visitor_queue_reply(verdict, visitor, status=FORWARD_AUTH_QUEUE_STATUS)
        if verdict.set_cookies:
            reply.headers.extend((b"set-cookie", c) for c in verdict.set_cookies)
        if nginx:
            # First: nginx stops reading caching headers at X-Accel-Expires, but a Cache-Control
            # before it (no-store, for any other cache) would already have made the answer unkeepable.
            reply.headers.insert(0, KEEP_FOR_A_SECOND if self._keepable(verdict, visitor) else DO_NOT_KEEP)
        return reply

    def _keepable(self, verdict: Verdict, visitor: Visitor) -> bool:
        """An admitted visitor's unchanged session on a host with one room: the same answer for a second."""
        decision = verdict.decision
        return (
            decision.reason == "session"
            and decision.outcome is Outcome.ORIGIN
            and not verdict.set_cookies
            and self.admission.source.current.routes.only_target(visitor.host) is verdict.entry
        )

    def _page(self, visitor: Visitor) -> Reply:
        entry = self.admission.route(visitor.host, visitor.path)
        if entry is None:
            return text_reply(404, "No waiting room covers this page")
        forwarded = header(visitor.headers, SET_COOKIE_HEADER)
        fresh = _cookie_from_header(forwarded, entry.cookie_name)
        verdict = self.admission.check(entry, visitor, count=False, cookie_value=fresh)
        if verdict.passes:
            # Read-only: a decision to let the visitor in was not counted, so its cookie is
            # not handed out; the next request goes through auth, which counts it.
            # "//host" would be a redirect to another site: keep the location on this one.
            path = "/" + visitor.path.lstrip("/")
            location = path + (f"?{visitor.query_string.decode('latin-1')}" if visitor.query_string else "")
            return Reply(303, b"", [(b"location", location.encode("latin-1")), (b"cache-control", b"no-store")])
        reply = visitor_queue_reply(verdict, visitor)
        if fresh and forwarded:
            # Re-send the auth answer's cookie exactly as issued (one per header line).
            cookie = next((p for p in forwarded.split(", ") if p.startswith(entry.cookie_name + "=")), None)
            if cookie is not None:
                reply.headers.append((b"set-cookie", cookie.encode("latin-1")))
        return reply

    def _revoke(self, scope: MutableMapping[str, Any]) -> Reply:
        if scope["method"] != "POST":
            reply = text_reply(405, "Use POST")
            reply.headers.append((b"allow", b"POST"))
            return reply
        visitor = original_request(scope, self.trusted)
        entry = self.admission.route(visitor.host, visitor.path)
        if entry is None:
            return text_reply(404, "No waiting room covers this host and path (send X-Forwarded-Host and -Uri)")
        if "revoke" not in entry.room.enabled_origin_commands:
            return text_reply(403, 'Revoke is not enabled for this room: add "revoke" to enabled_origin_commands')
        now = self.admission.clock()
        ticket = self.admission.session_of(entry, visitor, now)
        dropped, clear = self.admission.revoke(entry, ticket, visitor, now)
        body = json.dumps({"revoked": dropped}).encode()
        headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store"), (b"set-cookie", clear)]
        return Reply(200, body, headers)
