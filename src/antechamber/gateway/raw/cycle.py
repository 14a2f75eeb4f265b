"""One request on a raw connection, and the ASGI-style cycle that forwards it to the origin.

The proxy path reuses :func:`~antechamber.gateway.proxy.forward` unchanged:
:class:`ProxyCycle` gives it ``receive`` (the request body as it arrives,
``100 Continue`` on first read when asked for) and ``send`` (the response
head and body written as they come, with ``Content-Length`` passed through or
chunked framing otherwise).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

from antechamber.gateway.pages import Reply
from antechamber.gateway.proxy import forward
from antechamber.gateway.raw.wire import CHUNKED, CLOSE, CONTINUE, LAST_CHUNK, date_header, status_line

if TYPE_CHECKING:
    from antechamber.gateway.app import Forward
    from antechamber.gateway.raw.protocol import HttpProtocol

logger = logging.getLogger(__name__)

Message = MutableMapping[str, Any]
#: Framing headers the server sets itself from what it actually sends.
_FRAMING = frozenset({b"connection", b"keep-alive", b"transfer-encoding"})
_NO_BODY_STATUS = frozenset({204, 304})
_DISCONNECT: Message = {"type": "http.disconnect"}


class Request:
    """A parsed request head, its body as it arrives, and how far its answer has got."""

    __slots__ = (
        "_more",
        "body",
        "buffered",
        "complete",
        "discard",
        "disconnected",
        "expect",
        "keep_alive",
        "reply",
        "responded",
        "scope",
        "started",
        "task",
    )

    def __init__(self, scope: MutableMapping[str, Any], *, keep_alive: bool, expect: bool) -> None:
        self.scope = scope
        self.keep_alive = keep_alive
        #: ``Expect: 100-continue``; cleared once the interim answer was sent.
        self.expect = expect
        self.body: list[bytes] = []
        self.buffered = 0
        #: The whole body has been received.
        self.complete = False
        #: The answer does not need the body: drop it as it arrives.
        self.discard = False
        self.disconnected = False
        #: The gateway's own answer, written once the body has been read.
        self.reply: Reply | None = None
        #: The response head has been written (its status can no longer change).
        self.started = False
        #: The response has been written in full.
        self.responded = False
        self.task: asyncio.Task[None] | None = None
        self._more: asyncio.Event | None = None

    def feed(self, chunk: bytes) -> None:
        self.body.append(chunk)
        self.buffered += len(chunk)
        if self._more is not None:
            self._more.set()

    def finish_body(self) -> None:
        self.complete = True
        if self._more is not None:
            self._more.set()

    def lost(self) -> None:
        """The client went away."""
        self.disconnected = True
        if self._more is not None:
            self._more.set()

    def _event(self) -> asyncio.Event:
        if self._more is None:
            self._more = asyncio.Event()
        self._more.clear()
        return self._more

    async def wait_body(self) -> None:
        """Until more body, its end, or a disconnect."""
        while not self.body and not self.complete and not self.disconnected:
            await self._event().wait()

    async def wait_disconnect(self) -> None:
        while not self.disconnected:
            await self._event().wait()

    def drop_body(self) -> None:
        """Discard the rest of the body (the answer is decided without it)."""
        self.discard = True
        self.body.clear()
        self.buffered = 0


class ProxyCycle:
    """``receive``/``send`` for one forwarded request on a raw connection."""

    __slots__ = ("_chunked", "_close_delimited", "_head", "_length", "_sent", "conn", "request")

    def __init__(self, conn: HttpProtocol, request: Request) -> None:
        self.conn = conn
        self.request = request
        self._head: bytes | None = None
        self._chunked = False
        self._close_delimited = False
        #: The Content-Length the application declared (None: chunked or no body).
        self._length: int | None = None
        self._sent = 0

    async def run(self, action: Forward) -> None:
        request = self.request
        try:
            await forward(
                request.scope, self.receive, self.send, action.hop, cookies=action.cookies, on_command=action.on_command
            )
        except Exception:
            # forward() answers origin failures itself; anything else, or a failure after the
            # head went out, leaves the response unfinishable: drop the connection.
            logger.exception("raw server: forwarding failed")
            self.conn.close()
            return
        if not request.responded:  # the client left before the answer was complete
            self.conn.close()

    async def receive(self) -> Message:
        request = self.request
        if request.disconnected:
            return _DISCONNECT
        if request.expect:
            request.expect = False
            if not request.complete and not self.conn.closed and self.conn.transport is not None:
                self.conn.transport.write(CONTINUE)
        if not request.body and request.complete:
            # The body has been handed over; like ASGI servers, wait for the disconnect.
            await request.wait_disconnect()
            return _DISCONNECT
        await request.wait_body()
        if request.disconnected and not request.body:
            return _DISCONNECT
        body = b"".join(request.body)
        request.body.clear()
        request.buffered = 0
        self.conn.resume_reading("body")
        return {"type": "http.request", "body": body, "more_body": not request.complete}

    async def send(self, message: Message) -> None:
        conn = self.conn
        request = self.request
        if request.disconnected or conn.closed:
            return
        kind = message["type"]
        if kind == "http.response.start":
            self._start(int(message["status"]), message.get("headers", ()))
            return
        if kind != "http.response.body" or self._head is None or request.responded:
            return
        if not conn.writable.is_set():
            await conn.writable.wait()
            if conn.closed:
                return
        body: bytes = message.get("body", b"")
        more: bool = message.get("more_body", False)
        parts: list[bytes] = []
        if not request.started:
            parts.append(self._head)
            request.started = True
        head_only = request.scope["method"] == "HEAD"
        if body and not head_only:
            if self._chunked:
                parts += (b"%x\r\n" % len(body), body, b"\r\n")
            elif self._length is not None or self._close_delimited:
                parts.append(body)
                self._sent += len(body)
        if not more and self._chunked and not head_only:
            parts.append(LAST_CHUNK)
        if parts:
            assert conn.transport is not None
            conn.transport.write(b"".join(parts))
        if not more:
            request.responded = True
            if self._length is not None and self._sent != self._length and not head_only:
                conn.close()  # the body did not match its declared length: the framing is broken
                return
            conn.response_done(request)

    def _start(self, status: int, headers: Any) -> None:
        request = self.request
        parts = [status_line(status), date_header()]
        length: int | None = None
        for name, value in headers:
            lower = bytes(name).lower()
            if lower in _FRAMING:
                continue
            if lower == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    continue
            parts += (lower, b": ", bytes(value), b"\r\n")
        if length is None and status not in _NO_BODY_STATUS and status >= 200 and request.scope["method"] != "HEAD":
            if request.scope["http_version"] == "1.0":
                # HTTP/1.0 has no chunked coding: the end of the connection ends the body.
                request.keep_alive = False
                self._close_delimited = True
            else:
                self._chunked = True
                parts.append(CHUNKED)
        self._length = length
        if not request.keep_alive:
            parts.append(CLOSE)
        parts.append(b"\r\n")
        self._head = b"".join(parts)
