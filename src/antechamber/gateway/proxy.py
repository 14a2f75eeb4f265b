"""Streaming one HTTP request to the origin and its response back to the visitor.

Bodies stream both ways (nothing is buffered whole); the pool keeps origin
connections alive between requests. The origin's ``Cf-Waiting-Room-Command``
header never reaches the visitor; when it says ``revoke`` the caller's
``on_revoke`` decides what cookie to send instead. With the hop's ``timings``
each round trip is timed (outcome ``proxied``) and each failure counted by kind
(:data:`~antechamber.gateway.timing.ORIGIN_ERRORS`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from antechamber.gateway.pages import Reply, Send, error_reply, send_reply
from antechamber.gateway.request import request_target
from antechamber.gateway.timing import NO_ROOM, PROXIED, RequestTimings
from antechamber.gateway.upstream import (
    Headers,
    Origin,
    RequestBody,
    Upstream,
    UpstreamConnectError,
    UpstreamError,
    UpstreamResponse,
    UpstreamTimeout,
    proxy_request_headers,
)

logger = logging.getLogger(__name__)

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
#: Called with the command's value; returns the ``Set-Cookie`` values to send instead of the planned ones.
OnCommand = Callable[[bytes], tuple[bytes, ...]]

COMMAND_HEADER = b"cf-waiting-room-command"
#: The ASGI server writes its own Date and Server; the origin's copies would make duplicates.
SERVER_OWNED = frozenset({b"date", b"server"})


@dataclass(frozen=True, slots=True)
class Hop:
    """Where and how one visitor's request goes on to the origin."""

    upstream: Upstream
    #: None: no origin is configured for the host (the visitor gets a 502).
    origin: Origin | None
    #: The visitor's scheme, for ``X-Forwarded-Proto``.
    scheme: str
    #: The TCP peer, appended to ``X-Forwarded-For``.
    client_ip: str | None
    #: The peer is a trusted proxy, so its ``X-Forwarded-*`` chain is kept.
    trusted: bool
    #: The room the request belongs to (the ``room`` label of its timing and failures).
    room_id: str = NO_ROOM
    #: Where the round trip's time and failures are counted (None: not counted).
    timings: RequestTimings | None = None


class ClientDisconnected(Exception):
    """The visitor went away while its request body was being sent."""


def bad_gateway(message: str = "The website could not be reached. Please try again in a moment.") -> Reply:
    """The 502 page."""
    return error_reply(502, "Bad gateway", message)


def gateway_timeout() -> Reply:
    """The 504 page."""
    return error_reply(504, "Gateway timeout", "The website took too long to answer. Please try again in a moment.")


def error_kind(exc: UpstreamError) -> str:
    """The ``kind`` of a failure before the response head (:data:`~antechamber.gateway.timing.ORIGIN_ERRORS`)."""
    if isinstance(exc, UpstreamTimeout):
        return "timeout"
    if isinstance(exc, UpstreamConnectError):
        return "connect_error"
    return "bad_response"


def _has_body(headers: Headers) -> bool:
    for name, value in headers:
        if name == b"transfer-encoding":
            return True
        if name == b"content-length":
            return value.strip() not in (b"", b"0")
    return False


async def _request_body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        kind = message.get("type")
        if kind == "http.request":
            chunk = message.get("body", b"")
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return
        elif kind == "http.disconnect":
            raise ClientDisconnected


def response_headers(
    upstream_headers: Headers,
    cookies: tuple[bytes, ...],
    on_command: OnCommand | None,
    *,
    drop: frozenset[bytes] = SERVER_OWNED,
) -> Headers:
    """The origin's headers for the visitor: the command header and ``drop`` removed, our cookies appended.

    (The in-app middleware keeps the app's own ``Date`` and ``Server``: ``drop=frozenset()``.)
    """
    out: Headers = []
    command: bytes | None = None
    for name, value in upstream_headers:
        lower = name.lower()
        if lower == COMMAND_HEADER:
            command = value if command is None else command + b"," + value
            continue
        if lower in drop:
            continue
        out.append((lower, value))
    if command is not None and on_command is not None:
        cookies = on_command(command)
    out.extend((b"set-cookie", cookie) for cookie in cookies)
    return out


async def forward(
    scope: MutableMapping[str, Any],
    receive: Receive,
    send: Send,
    hop: Hop,
    *,
    cookies: tuple[bytes, ...] = (),
    on_command: OnCommand | None = None,
) -> None:
    """Proxy the request in ``scope`` along ``hop`` and stream the answer back.

    Args:
        cookies: ``Set-Cookie`` values to add to the origin's response.
        on_command: handles ``Cf-Waiting-Room-Command`` (the header is stripped regardless).
    """
    timings = hop.timings
    if timings is None:
        await _forward(scope, receive, send, hop, cookies, on_command)
        return
    start = time.perf_counter_ns()
    try:
        await _forward(scope, receive, send, hop, cookies, on_command)
    except UpstreamError:
        timings.origin_failed(hop.room_id, "cut_off")  # mid-body: the head was out already
        raise
    finally:
        timings.record(hop.room_id, PROXIED, time.perf_counter_ns() - start)


async def _forward(
    scope: MutableMapping[str, Any],
    receive: Receive,
    send: Send,
    hop: Hop,
    cookies: tuple[bytes, ...],
    on_command: OnCommand | None,
) -> None:
    method: str = scope["method"]
    origin = hop.origin
    if origin is None:
        if hop.timings is not None:
            hop.timings.origin_failed(hop.room_id, "no_origin")
        await send_reply(send, bad_gateway("No origin is configured for this site."), head_only=method == "HEAD")
        return
    headers: Headers = scope["headers"]
    out_headers = proxy_request_headers(
        headers, client_ip=hop.client_ip, scheme=hop.scheme, trust_forwarded=hop.trusted
    )
    body: RequestBody = _request_body(receive) if _has_body(headers) else None
    try:
        response: UpstreamResponse = await hop.upstream.request(
            method, request_target(scope), out_headers, body, origin=origin
        )
    except ClientDisconnected:
        return
    except UpstreamError as exc:
        if hop.timings is not None:
            hop.timings.origin_failed(hop.room_id, error_kind(exc))
        if isinstance(exc, UpstreamTimeout):
            logger.warning("origin %s:%d timed out (%s)", origin.host, origin.port, exc.phase)
            await send_reply(send, gateway_timeout(), head_only=method == "HEAD")
        else:
            logger.warning("origin %s:%d failed: %s", origin.host, origin.port, type(exc).__name__)
            await send_reply(send, bad_gateway(), head_only=method == "HEAD")
        return
    try:
        headers_out = response_headers(response.headers, cookies, on_command)
        await send({"type": "http.response.start", "status": response.status, "headers": headers_out})
        # After the head is out the status cannot change: a failure mid-body propagates,
        # so the server drops the connection instead of ending a truncated body cleanly.
        async for chunk in response.aiter_bytes():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        await response.aclose()
