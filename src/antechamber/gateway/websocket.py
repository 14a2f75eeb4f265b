"""Bridging an admitted visitor's WebSocket to the origin.

The ASGI server speaks WebSocket to the visitor and hands us messages; the
origin gets a fresh client-side WebSocket over the upgraded upstream
connection, framed by ``websockets``' sans-I/O protocol. Only messages cross
the bridge, so each side negotiates its own extensions (compression) and the
origin never sees the visitor's ``Sec-WebSocket-Key``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import os
from collections.abc import MutableMapping
from typing import Any

from websockets.frames import Close, Frame, Opcode
from websockets.protocol import Protocol, Side, State

from antechamber.gateway.pages import Reply, Send, send_reply
from antechamber.gateway.proxy import Hop, Receive, bad_gateway, error_kind, gateway_timeout
from antechamber.gateway.request import header, request_target
from antechamber.gateway.upstream import Headers, UpstreamError, UpstreamTimeout, proxy_request_headers

logger = logging.getLogger(__name__)

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# Per-connection handshake headers: the bridge makes its own handshake with the origin.
_HANDSHAKE = frozenset(
    {b"sec-websocket-key", b"sec-websocket-version", b"sec-websocket-extensions", b"sec-websocket-accept"}
)
_READ = 65536


async def refuse(scope: MutableMapping[str, Any], send: Send, reply: Reply) -> None:
    """Answer an upgrade with an HTTP response when the server supports it, else close (403)."""
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await send_reply(send, reply, prefix="websocket.http")
    else:
        await send({"type": "websocket.close", "code": 1008})


async def bridge(
    scope: MutableMapping[str, Any],
    receive: Receive,
    send: Send,
    hop: Hop,
    *,
    cookies: tuple[bytes, ...] = (),
) -> None:
    """Open a WebSocket to the origin and pipe messages both ways until either side closes.

    The caller has already received ``websocket.connect``.
    """
    origin = hop.origin
    if origin is None:
        if hop.timings is not None:
            hop.timings.origin_failed(hop.room_id, "no_origin")
        await refuse(scope, send, bad_gateway("No origin is configured for this site."))
        return
    visitor_headers: Headers = [(n, v) for n, v in scope["headers"] if n not in _HANDSHAKE]
    headers = proxy_request_headers(
        visitor_headers, client_ip=hop.client_ip, scheme=hop.scheme, trust_forwarded=hop.trusted, upgrade=True
    )
    key = base64.b64encode(os.urandom(16))
    headers += [(b"sec-websocket-key", key), (b"sec-websocket-version", b"13")]
    if not any(n == b"upgrade" for n, _ in headers):
        headers.append((b"upgrade", b"websocket"))
    try:
        upgraded = await hop.upstream.upgrade("GET", request_target(scope), headers, origin=origin)
    except UpstreamError as exc:
        if hop.timings is not None:
            hop.timings.origin_failed(hop.room_id, error_kind(exc))
        if isinstance(exc, UpstreamTimeout):
            await refuse(scope, send, gateway_timeout())
            return
        logger.warning("origin %s:%d refused the upgrade: %s", origin.host, origin.port, type(exc).__name__)
        await refuse(scope, send, bad_gateway())
        return
    response = upgraded.response
    reader, writer = upgraded.reader, upgraded.writer
    if response.status != 101 or reader is None or writer is None:
        try:
            body = await response.read()
        except UpstreamError:
            body = b""
        finally:
            await response.aclose()
        out = [(n.lower(), v) for n, v in response.headers if n.lower() != b"content-length"]
        await refuse(scope, send, Reply(response.status, body, [*out, *((b"set-cookie", c) for c in cookies)]))
        return
    answer = [(n.lower(), v) for n, v in response.headers]
    expected = base64.b64encode(hashlib.sha1(key + _GUID).digest())
    if header(answer, b"sec-websocket-accept") != expected.decode():
        writer.close()
        await refuse(scope, send, bad_gateway("The website answered the WebSocket handshake wrongly."))
        return
    accept: MutableMapping[str, Any] = {"type": "websocket.accept", "headers": [(b"set-cookie", c) for c in cookies]}
    subprotocol = header(answer, b"sec-websocket-protocol")
    if subprotocol:
        accept["subprotocol"] = subprotocol
    await send(accept)
    await _pipe(receive, send, reader, writer)


def _flush(protocol: Protocol, writer: asyncio.StreamWriter) -> None:
    for data in protocol.data_to_send():
        if data:
            writer.write(data)


async def _visitor_to_origin(receive: Receive, protocol: Protocol, writer: asyncio.StreamWriter) -> None:
    while True:
        message = await receive()
        kind = message.get("type")
        if kind == "websocket.receive":
            text = message.get("text")
            if text is not None:
                protocol.send_text(text.encode())
            else:
                protocol.send_binary(message.get("bytes") or b"")
        elif kind == "websocket.disconnect":
            if protocol.state is State.OPEN:
                code = message.get("code", 1000)
                # 1005/1006 may not be sent on the wire; the origin sees a plain close.
                protocol.send_close(None if code in (1005, 1006) else code)
            _flush(protocol, writer)
            return
        _flush(protocol, writer)
        await writer.drain()


async def _origin_to_visitor(
    send: Send, protocol: Protocol, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    parts: list[bytes] = []
    text = False
    while True:
        data = await reader.read(_READ)
        if data:
            protocol.receive_data(data)
        else:
            protocol.receive_eof()
        for frame in protocol.events_received():
            if not isinstance(frame, Frame):  # pragma: no cover - a Protocol past its handshake yields frames only
                continue
            if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                text, parts = frame.opcode is Opcode.TEXT, [bytes(frame.data)]
            elif frame.opcode is Opcode.CONT:
                parts.append(bytes(frame.data))
            elif frame.opcode is Opcode.CLOSE:
                close = Close.parse(bytes(frame.data)) if frame.data else None
                code = close.code if close is not None else 1000
                await send({"type": "websocket.close", "code": code, "reason": close.reason if close else ""})
                _flush(protocol, writer)
                return
            else:
                continue  # ping/pong: the protocol answers pings itself
            if frame.fin:
                payload = b"".join(parts)
                parts = []
                if text:
                    await send({"type": "websocket.send", "text": payload.decode("utf-8", "replace")})
                else:
                    await send({"type": "websocket.send", "bytes": payload})
        _flush(protocol, writer)
        if not data:
            await send({"type": "websocket.close", "code": 1011})
            return


async def _pipe(receive: Receive, send: Send, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Run both directions; when one ends (a close from either side), stop the other."""
    protocol = Protocol(Side.CLIENT, state=State.OPEN, max_size=None)
    tasks = [
        asyncio.ensure_future(_visitor_to_origin(receive, protocol, writer)),
        asyncio.ensure_future(_origin_to_visitor(send, protocol, reader, writer)),
    ]
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for task in done:
            exc = None if task.cancelled() else task.exception()
            if exc is not None and not isinstance(exc, (ConnectionError, OSError)):
                logger.warning("websocket bridge ended with %s", type(exc).__name__)
    finally:
        writer.close()
