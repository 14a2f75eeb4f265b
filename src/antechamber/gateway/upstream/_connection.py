"""One HTTP/1.1 connection to an origin: the asyncio ``Protocol``, parser callbacks, one response body.

Shaped after uvicorn's ``httptools_impl``: ``_Connection`` owns the transport, the httptools
callbacks, write flow control and timers; ``_Response`` owns one body's buffer and the
read-side back-pressure. The pool (``pool.py``) decides which connection serves a request.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httptools

from antechamber.gateway.upstream.base import (
    Headers,
    Origin,
    RequestBody,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from antechamber.gateway.upstream.headers import HOP_BY_HOP

if TYPE_CHECKING:
    from antechamber.gateway.upstream.pool import UpstreamPool

__all__: list[str] = []

# Connection header values that name no other header (the usual case, checked without splitting).
_PLAIN_CONNECTION = frozenset({b"keep-alive", b"close", b"upgrade"})
# Response headers on_header must look at; all others are appended as they come.
_RESPONSE_SPECIAL = HOP_BY_HOP | {b"content-length"}


class _Dead(Exception):
    """Internal: the connection closed before any byte of the response arrived."""

    def __init__(self, sent: bool = True) -> None:
        super().__init__("connection closed")
        self.sent = sent  # whether any request byte may have reached the origin


class _Response:
    """One response: head fields plus the body buffer the connection feeds."""

    __slots__ = (
        "_chunks",
        "_conn",
        "_eof",
        "_error",
        "_idle",
        "_waiter",
        "buffered",
        "headers",
        "http_version",
        "reason",
        "status",
    )

    def __init__(self, conn: _Connection, status: int, reason: bytes, headers: Headers, version: str) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.http_version = version
        self._conn: _Connection | None = conn  # None once the body is complete or the response closed
        self._chunks: deque[bytes] = deque()
        self.buffered = 0  # bytes received and not yet consumed (back-pressure accounting)
        self._eof = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._idle = conn.pool.timeouts.idle

    def __repr__(self) -> str:
        return f"<UpstreamResponse {self.status} {self.reason.decode('latin-1')!r}>"

    # --- fed by the connection -------------------------------------------------------
    def _feed(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self.buffered += len(chunk)
        conn = self._conn
        if conn is not None and self.buffered > conn.pool.limits.high_water:
            conn.pause_reading()
        self._wake()

    def _end(self) -> None:
        self._eof = True
        self._conn = None
        self._wake()

    def _fail(self, exc: BaseException) -> None:
        if not self._eof and self._error is None:
            self._error = exc
        self._conn = None
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # --- consumer side ----------------------------------------------------------------
    def aiter_bytes(self) -> _Response:
        return self

    def __aiter__(self) -> _Response:
        return self

    async def __anext__(self) -> bytes:
        while True:
            if self._chunks:
                # Hand over everything buffered at once: fewer, larger writes downstream.
                chunks = self._chunks
                chunk = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
                chunks.clear()
                self.buffered = 0
                conn = self._conn
                if conn is not None:
                    conn.resume_reading()
                return chunk
            if self._error is not None:
                raise self._error
            if self._eof:
                raise StopAsyncIteration
            await self._wait()

    async def _wait(self) -> None:
        conn = self._conn
        assert conn is not None
        conn.resume_reading()
        waiter = self._waiter = conn.loop.create_future()
        timer = None if self._idle is None else conn.loop.call_later(self._idle, self._on_idle, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    def _on_idle(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done() and self._conn is not None:
            assert self._idle is not None
            self._conn.abort(UpstreamTimeout("idle", self._idle))

    async def read(self) -> bytes:
        if self._eof and self._error is None:  # the usual small response: already complete
            data = b"".join(self._chunks)
            self._chunks.clear()
            self.buffered = 0
            return data
        return b"".join([chunk async for chunk in self])

    async def aclose(self) -> None:
        if self._conn is not None:  # body not finished: the connection is mid-message, drop it
            self._conn.abort(UpstreamProtocolError("response closed before its body was read"))
        self._eof = True
        self._chunks.clear()


class _Connection(asyncio.Protocol):
    """One keep-alive connection to one origin."""

    __slots__ = (
        "_body_done",
        "_body_task",
        "_drain",
        "_head_waiter",
        "_headers",
        "_hop",
        "_is_head",
        "_keep_alive_hint",
        "_named",
        "_no_length",
        "_paused",
        "deadline",
        "_reason",
        "_received",
        "_renew_parser",
        "_resp",
        "_upgrade_ok",
        "_upgraded",
        "_write_paused",
        "_header_bytes",
        "_max_head",
        "closed",
        "expires_at",
        "keepalive_hint",
        "loop",
        "origin",
        "parser",
        "pool",
        "reused",
        "transport",
    )

    def __init__(self, pool: UpstreamPool, origin: Origin) -> None:
        self.pool = pool
        self.origin = origin
        self.loop = pool.loop
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set in connection_made
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.reused = False
        self.expires_at = 0.0  # loop time after which this idle connection is no longer trusted
        self.keepalive_hint: float | None = None  # the origin's "Keep-Alive: timeout=N", if it sent one
        self._renew_parser = False
        self._head_waiter: asyncio.Future[_Response] | None = None
        self._resp: _Response | None = None
        self.deadline = 0.0  # when the response head is due (loop time), while the pool watches us
        self._body_task: asyncio.Task[None] | None = None
        self._body_done = True
        self._drain: asyncio.Future[None] | None = None
        self._write_paused = False
        self._paused = False
        self._received = False
        self._is_head = False
        self._upgrade_ok = False
        self._upgraded: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._headers: Headers = []
        self._hop: Headers = []
        self._reason = b""
        self._header_bytes = 0
        self._max_head = pool.limits.max_header_bytes
        self._no_length = True
        self._keep_alive_hint = True
        self._named: bytes | None = None

    # --- asyncio.Protocol ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._head_waiter is None and self._resp is None:
            # Bytes nobody asked for (a 408 before closing, junk): the connection is unusable.
            self.abort(UpstreamProtocolError("unsolicited data from origin"))
            return
        self._received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self._hand_over(data[upgrade.args[0] :])
            return
        except httptools.HttpParserError as exc:
            cause = exc.__context__ if isinstance(exc.__context__, UpstreamError) else None
            self.abort(cause or UpstreamProtocolError(f"invalid response from origin: {exc}"))
            return
        if self._head_waiter is not None:
            # Still no complete head, so all of data was head: counted per read rather than per
            # header, which keeps on_header cheap and still bounds what a hostile origin can make us hold.
            self._header_bytes += len(data)
            if self._header_bytes > self._max_head:
                self.abort(UpstreamProtocolError("origin response headers too large"))

    def eof_received(self) -> None:
        return None  # let the transport close; connection_lost settles the exchange

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool._forget(self)
        self.pool._heads.discard(self)
        waiter = self._head_waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(
                _Dead()
                if not self._received
                else UpstreamProtocolError("origin closed the connection before the response head was complete")
            )
        resp = self._resp
        if resp is not None:
            self._resp = None
            if self._no_length and exc is None and resp._error is None:
                resp._end()  # close-delimited body (HTTP/1.0 style): a clean EOF is the normal end
            else:
                resp._fail(UpstreamProtocolError("origin closed the connection mid-response"))
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_exception(_Dead())
        if self._body_task is not None and not self._body_task.done():
            self._body_task.cancel()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_result(None)

    # --- httptools callbacks ----------------------------------------------------------
    def on_message_begin(self) -> None:
        # Also runs between an interim 1xx and the final response, so it cannot move to start().
        self._headers = []
        self._hop = []
        self._reason = b""
        self._no_length = True
        self._keep_alive_hint = True
        self._named = None

    def on_status(self, status: bytes) -> None:
        self._reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        lower = name.lower()
        if lower in _RESPONSE_SPECIAL:
            if lower == b"content-length":
                self._no_length = False
                self._headers.append((name, value))
                return
            if lower == b"transfer-encoding":
                self._no_length = False
            elif lower == b"keep-alive":
                self._parse_keep_alive(value)
            elif lower == b"connection":
                value_lower = value.lower()
                if b"close" in value_lower:
                    self._keep_alive_hint = False
                if value_lower not in _PLAIN_CONNECTION:
                    self._named = value_lower if self._named is None else self._named + b"," + value_lower
            self._hop.append((name, value))
            return
        self._headers.append((name, value))

    def _parse_keep_alive(self, value: bytes) -> None:
        # Apache and others announce how long they keep an idle connection; trusting a pooled
        # connection longer than that only buys a race with the origin closing it.
        for param in value.split(b","):
            key, _, number = param.strip().partition(b"=")
            if key.lower() == b"timeout" and number.strip().isdigit():
                self.keepalive_hint = float(number)

    def on_headers_complete(self) -> None:
        parser = self.parser
        status = parser.get_status_code()
        if status < 200 and status != 101:
            return  # interim response (100 Continue, 103 Early Hints): wait for the real one
        waiter = self._head_waiter
        if waiter is None or waiter.done():  # timed out or cancelled meanwhile
            raise UpstreamProtocolError("response head arrived after the request was abandoned")
        if status == 101 and not self._upgrade_ok:
            raise UpstreamProtocolError("101 Switching Protocols to a request that asked for no upgrade")
        self._head_waiter = None
        self.pool._heads.discard(self)
        headers = self._headers
        if self._named is not None:  # rare: Connection names end-to-end-looking headers as hop-by-hop
            named = {t.strip().lower() for t in self._named.split(b",")}
            headers = [(n, v) for n, v in headers if n.lower() not in named]
        if status == 101:
            headers = headers + self._hop  # the 101 head is relayed verbatim: Upgrade/Connection belong to it
        resp = _Response(self, status, self._reason, headers, parser.get_http_version())
        # Trailers of a chunked body arrive through on_header too: keep them out of the response.
        self._headers = []
        self._hop = []
        waiter.set_result(resp)
        if status == 101:
            resp._end()
        elif status in (204, 304):
            self._no_length = False  # llhttp knows these have no body; on_message_complete follows
            self._resp = resp
        elif self._is_head:
            # llhttp cannot be told the request was HEAD, so it would wait for Content-Length
            # bytes that never come: finish here and use a fresh parser for the next exchange.
            self._renew_parser = True
            resp._end()
            keep = self._keep_alive_hint and parser.get_http_version() == "1.1"
            self._finish(keep)
        else:
            self._resp = resp

    def on_body(self, body: bytes) -> None:
        if self._resp is not None:
            self._resp._feed(body)

    def on_message_complete(self) -> None:
        resp = self._resp
        if resp is None:
            return  # interim 1xx, 101, or a HEAD response already finished
        self._resp = None
        resp._end()
        self._finish(self.parser.should_keep_alive())

    # --- exchange -----------------------------------------------------------------------
    def _finish(self, keep_alive: bool) -> None:
        if self._paused:
            self._paused = False
            self.transport.resume_reading()
        if keep_alive and self._body_done and not self.closed:
            self.pool._release(self)
        else:  # closing also stops a request body the origin no longer reads
            self.abort(None)

    def start(
        self, head: bytes, body: RequestBody, length: int | None, method: str, upgrade: bool = False
    ) -> asyncio.Future[_Response]:
        """Send the request; the future resolves to the response head.

        Raises ``_Dead(sent=False)`` when the connection is already gone. A plain method returning
        the future, not a coroutine, saves a coroutine layer per request; the caller awaits it and
        must :meth:`abort` the connection if that await fails or is cancelled.
        """
        if self.closed or self.transport.is_closing():
            raise _Dead(sent=False)
        if self._renew_parser:
            self.parser = httptools.HttpResponseParser(self)
            self._renew_parser = False
        self._is_head = method == "HEAD"
        self._upgrade_ok = upgrade
        self._received = False
        self._header_bytes = 0
        waiter: asyncio.Future[_Response] = self.loop.create_future()
        self._head_waiter = waiter
        if body is None or isinstance(body, bytes):
            if body and len(body) < 16384:
                self.transport.write(head + body)  # one segment for the common small POST
            elif body:
                self.transport.writelines((head, body))
            else:
                self.transport.write(head)
            self._body_done = True
            self._arm_read_timer()
        else:
            self.transport.write(head)
            self._body_done = False
            self._body_task = self.loop.create_task(self._send_body(body, length))
        return waiter

    def _arm_read_timer(self) -> None:
        seconds = self.pool.timeouts.read
        if seconds is not None and self._head_waiter is not None:
            # A shared sweeper checks deadlines instead of one TimerHandle per request: creating
            # and cancelling a timer cost ~4 us here, a large share of a proxied request.
            self.deadline = self.loop.time() + seconds
            self.pool._watch(self)

    def _on_read_timeout(self) -> None:
        seconds = self.pool.timeouts.read
        assert seconds is not None
        self.abort(UpstreamTimeout("read", seconds))

    async def _send_body(self, body: AsyncIterator[bytes], length: int | None) -> None:
        sent = 0
        write = self.transport.write
        try:
            async for chunk in body:
                if not chunk:
                    continue
                if self.closed:
                    raise _Dead()
                if length is None:
                    self.transport.writelines((b"%x\r\n" % len(chunk), chunk, b"\r\n"))
                else:
                    sent += len(chunk)
                    if sent > length:
                        raise UpstreamProtocolError("request body longer than its Content-Length")
                    write(chunk)
                if self._write_paused:
                    await self._wait_drain()
            if length is None:
                write(b"0\r\n\r\n")
            elif sent != length:
                raise UpstreamProtocolError("request body shorter than its Content-Length")
            self._body_done = True
            self._arm_read_timer()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            # Body iterator errors (the visitor left) reach request() unwrapped, by design.
            self.abort(UpstreamProtocolError("origin closed the connection") if isinstance(exc, _Dead) else exc)

    async def _wait_drain(self) -> None:
        drain = self._drain = self.loop.create_future()
        seconds = self.pool.timeouts.idle
        timer = (
            None
            if seconds is None
            else self.loop.call_later(seconds, _expire, drain, UpstreamTimeout("write", seconds))
        )
        try:
            await drain
        finally:
            self._drain = None
            if timer is not None:
                timer.cancel()

    def pause_reading(self) -> None:
        if not self._paused:
            self._paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self._paused and not self.closed:
            self._paused = False
            self.transport.resume_reading()

    def abort(self, exc: BaseException | None) -> None:
        """Fail whatever is in flight with ``exc`` and close the connection for good."""
        if exc is not None:
            waiter = self._head_waiter
            if waiter is not None and not waiter.done():
                waiter.set_exception(exc)
            if self._resp is not None:
                self._resp._fail(exc)
                self._resp = None
        self.pool._heads.discard(self)
        task = self._body_task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
        if not self.closed:
            self.closed = True
            self.pool._forget(self)
            self.transport.close()

    def _hand_over(self, rest: bytes) -> None:
        # The origin switched protocols: give the socket to asyncio streams and leave the pool.
        self.pool._forget(self)
        reader = asyncio.StreamReader(loop=self.loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=self.loop)
        self.transport.set_protocol(protocol)
        protocol.connection_made(self.transport)
        if rest:
            protocol.data_received(rest)
        self._upgraded = (reader, asyncio.StreamWriter(self.transport, protocol, reader, self.loop))
        self.closed = True  # for the pool; the socket itself now belongs to the caller


def _expire(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
