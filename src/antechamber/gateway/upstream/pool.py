"""The project's own pooled HTTP/1.1 client: asyncio ``Protocol`` + ``httptools`` response parser.

Why own one: on the proxy hop it measured 3-30x faster than aiohttp and httpx
(``docs``/``reference/stack.md`` §A.3). The shape follows uvicorn's ``httptools_impl``: the
``_Connection`` protocol owns the transport and parser callbacks, ``_Response`` owns one
response body's buffer, and ``UpstreamPool`` owns the per-origin keep-alive stacks.

Lifecycle of one exchange: acquire (idle stack, else connect under the per-origin cap, else
wait) -> write head (+ body, or start a body task) -> await the head -> the caller drains the
body -> on message complete the connection goes back to the pool at once (the body that is
still buffered stays with the response), or is closed when it cannot be reused.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import httptools

from antechamber.gateway.upstream.base import (
    Headers,
    Limits,
    Origin,
    RequestBody,
    Timeouts,
    Upgraded,
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from antechamber.gateway.upstream.headers import HOP_BY_HOP

__all__ = ["UpstreamPool"]

# Safe to resend after a dead keep-alive connection swallowed them (RFC 9110 §9.2.2).
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
# Methods whose empty body still gets an explicit length, as origins often require one.
_LENGTH_REQUIRED = frozenset({"POST", "PUT", "PATCH"})
# Request headers the client owns: framing and connection management.
_REQUEST_DROP = HOP_BY_HOP | {b"content-length"}


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
        "_no_length",
        "_paused",
        "_read_timer",
        "_reason",
        "_received",
        "_renew_parser",
        "_resp",
        "_upgrade_ok",
        "_upgraded",
        "_write_paused",
        "_header_bytes",
        "closed",
        "idle_since",
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
        self.idle_since = 0.0
        self._renew_parser = False
        self._head_waiter: asyncio.Future[_Response] | None = None
        self._resp: _Response | None = None
        self._read_timer: asyncio.TimerHandle | None = None
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
        self._no_length = True
        self._keep_alive_hint = True

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
        except httptools.HttpParserError as exc:
            cause = exc.__context__ if isinstance(exc.__context__, UpstreamError) else None
            self.abort(cause or UpstreamProtocolError(f"invalid response from origin: {exc}"))

    def eof_received(self) -> None:
        return None  # let the transport close; connection_lost settles the exchange

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool._forget(self)
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
            if self._no_length and not self._is_head and resp._error is None:
                resp._end()  # close-delimited body (HTTP/1.0 style): EOF is the normal end
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
        self._headers = []
        self._hop = []
        self._reason = b""
        self._header_bytes = 0
        self._no_length = True
        self._keep_alive_hint = True

    def on_status(self, status: bytes) -> None:
        self._reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value)
        if self._header_bytes > self.pool.limits.max_header_bytes:
            raise UpstreamProtocolError("origin response headers too large")
        lower = name.lower()
        if lower in HOP_BY_HOP:
            if lower == b"transfer-encoding":
                self._no_length = False
            elif lower == b"connection" and b"close" in value.lower():
                self._keep_alive_hint = False
            self._hop.append((name, value))
            return
        if lower == b"content-length":
            self._no_length = False
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self.parser
        status = parser.get_status_code()
        if status < 200 and status != 101:
            return  # interim response (100 Continue, 103 Early Hints): wait for the real one
        waiter = self._head_waiter
        if waiter is None or waiter.done():  # timed out or cancelled meanwhile
            raise UpstreamProtocolError("response head arrived after the request was abandoned")
        self._head_waiter = None
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None
        headers = self._headers
        if self._hop and any(n.lower() == b"connection" for n, _ in self._hop):
            named = {t.strip().lower() for n, v in self._hop if n.lower() == b"connection" for t in v.split(b",")}
            headers = [(n, v) for n, v in headers if n.lower() not in named]
        if status == 101:
            if not self._upgrade_ok:
                raise UpstreamProtocolError("101 Switching Protocols to a request that asked for no upgrade")
            headers = headers + self._hop  # the 101 head is relayed verbatim: Upgrade/Connection belong to it
        resp = _Response(self, status, self._reason, headers, parser.get_http_version())
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

    async def exchange(
        self, head: bytes, body: RequestBody, length: int | None, method: str, upgrade: bool = False
    ) -> _Response:
        if self.closed or self.transport.is_closing():
            raise _Dead(sent=False)
        if self._renew_parser:
            self.parser = httptools.HttpResponseParser(self)
            self._renew_parser = False
        self._is_head = method == "HEAD"
        self._upgrade_ok = upgrade
        self._received = False
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
        try:
            return await waiter
        except BaseException:
            self.abort(None)
            raise

    def _arm_read_timer(self) -> None:
        seconds = self.pool.timeouts.read
        if seconds is not None and self._head_waiter is not None:
            self._read_timer = self.loop.call_later(seconds, self.abort, UpstreamTimeout("read", seconds))

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
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None
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


class _OriginPool:
    __slots__ = ("all", "idle", "waiters")

    def __init__(self) -> None:
        self.all: set[_Connection] = set()  # open or connecting; len() is checked against the cap
        self.idle: list[_Connection] = []  # a stack: the warmest connection is reused first
        self.waiters: deque[asyncio.Future[_Connection | None]] = deque()


class UpstreamPool:
    """Pooled HTTP/1.1 client implementing :class:`~antechamber.gateway.upstream.base.Upstream`.

    Example::

        pool = UpstreamPool(timeouts=Timeouts(read=10.0), limits=Limits(max_connections=64))
        resp = await pool.request("GET", "/", [(b"host", b"shop.example")], None,
                                  origin=Origin.parse("http://127.0.0.1:8080"))
        try:
            async for chunk in resp.aiter_bytes():
                ...
        finally:
            await resp.aclose()

    Upgraded (101) connections leave the pool and no longer count against its cap.
    """

    def __init__(
        self,
        *,
        timeouts: Timeouts | None = None,
        limits: Limits | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.timeouts = timeouts or Timeouts()
        self.limits = limits or Limits()
        self.loop = asyncio.get_running_loop()
        self._ssl = ssl_context
        self._pools: dict[Origin, _OriginPool] = {}
        self._closed = False

    def connections(self, origin: Origin) -> tuple[int, int]:
        """(open, idle) connection counts for ``origin``, for metrics and tests."""
        p = self._pools.get(origin)
        return (0, 0) if p is None else (len(p.all), sum(1 for c in p.idle if not c.closed))

    async def request(
        self, method: str, target: str, headers: Headers, body: RequestBody, *, origin: Origin
    ) -> _Response:
        """Send one request; see :meth:`Upstream.request`."""
        head, length = _build_head(method, target, headers, body, origin, upgrade=False)
        resp, _ = await self._exchange(origin, head, body, length, method, upgrade=False)
        return resp

    async def upgrade(self, method: str, target: str, headers: Headers, *, origin: Origin) -> Upgraded:
        """Send an Upgrade request; on 101 return the connection as asyncio streams."""
        head, _ = _build_head(method, target, headers, None, origin, upgrade=True)
        resp, conn = await self._exchange(origin, head, None, None, method, upgrade=True)
        if resp.status != 101:
            return Upgraded(resp)
        # data_received swapped the protocol in the same feed that completed the 101 head.
        if conn._upgraded is None:
            raise UpstreamProtocolError("origin sent 101 but the connection could not be switched")
        return Upgraded(resp, *conn._upgraded)

    async def _exchange(
        self, origin: Origin, head: bytes, body: RequestBody, length: int | None, method: str, upgrade: bool
    ) -> tuple[_Response, _Connection]:
        retried = False
        while True:
            conn = await self._acquire(origin)
            try:
                resp = await conn.exchange(head, body, length, method, upgrade)
            except _Dead as dead:
                # A reused connection the origin had already closed. Resend once when that is safe:
                # nothing was written, or an idempotent method with a body we can replay (or none).
                safe = not dead.sent or (method in _IDEMPOTENT and not isinstance(body, AsyncIterator))
                if conn.reused and not retried and safe:
                    retried = True
                    continue
                raise UpstreamProtocolError("origin closed the connection without responding") from None
            return resp, conn

    async def _acquire(self, origin: Origin) -> _Connection:
        if self._closed:
            raise UpstreamError("upstream pool is closed")
        p = self._pools.get(origin)
        if p is None:
            p = self._pools[origin] = _OriginPool()
        expiry = self.limits.keepalive_expiry
        idle = p.idle
        front = False
        while True:
            now = self.loop.time()
            while idle:
                conn = idle.pop()
                if not conn.closed and now - conn.idle_since < expiry and not conn.transport.is_closing():
                    conn.reused = True
                    return conn
                conn.abort(None)
            if len(p.all) < self.limits.max_connections:
                return await self._connect(origin, p)
            got = await self._wait_turn(p, front)
            if got is not None:
                got.reused = True
                return got
            front = True  # a slot freed up but may be taken again: keep our place in line

    async def _wait_turn(self, p: _OriginPool, front: bool) -> _Connection | None:
        waiter: asyncio.Future[_Connection | None] = self.loop.create_future()
        if front:
            p.waiters.appendleft(waiter)
        else:
            p.waiters.append(waiter)
        seconds = self.timeouts.pool
        timer = (
            None
            if seconds is None
            else self.loop.call_later(seconds, _expire, waiter, UpstreamTimeout("pool", seconds))
        )
        try:
            return await waiter
        except asyncio.CancelledError:
            # Pass on whatever was handed to us, so no connection or slot is lost.
            if waiter.done() and not waiter.cancelled():
                conn = waiter.result()
                if conn is not None:
                    self._release(conn)
                else:
                    self._wake_one(p)
            raise
        finally:
            if timer is not None:
                timer.cancel()

    async def _connect(self, origin: Origin, p: _OriginPool) -> _Connection:
        conn = _Connection(self, origin)
        p.all.add(conn)
        tls: ssl.SSLContext | None = None
        if origin.tls:
            tls = self._ssl = self._ssl or ssl.create_default_context()
        try:
            async with asyncio.timeout(self.timeouts.connect):
                await self.loop.create_connection(
                    lambda: conn,
                    origin.host,
                    origin.port,
                    ssl=tls,
                    server_hostname=(origin.server_hostname or origin.host) if tls else None,
                )
        except TimeoutError:
            self._forget(conn)
            assert self.timeouts.connect is not None
            raise UpstreamTimeout("connect", self.timeouts.connect) from None
        except OSError as exc:  # refused, unreachable, DNS failure, TLS errors (ssl.SSLError is an OSError)
            self._forget(conn)
            raise UpstreamConnectError(f"cannot connect to {origin.host}:{origin.port}: {exc}") from exc
        except BaseException:
            self._forget(conn)
            raise
        return conn

    def _release(self, conn: _Connection) -> None:
        p = self._pools[conn.origin]
        while p.waiters:  # hand the connection straight to the longest waiter
            waiter = p.waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        conn.idle_since = self.loop.time()
        idle = p.idle
        idle.append(conn)
        if len(idle) > self.limits.max_idle or self.loop.time() - idle[0].idle_since >= self.limits.keepalive_expiry:
            idle.pop(0).abort(None)

    def _forget(self, conn: _Connection) -> None:
        p = self._pools.get(conn.origin)
        if p is not None and conn in p.all:
            p.all.discard(conn)
            self._wake_one(p)

    @staticmethod
    def _wake_one(p: _OriginPool) -> None:
        while p.waiters:  # a slot under the cap freed up: let the longest waiter connect
            waiter = p.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def aclose(self) -> None:
        """Close every connection; in-flight responses fail with :class:`UpstreamError`."""
        self._closed = True
        for p in self._pools.values():
            for conn in list(p.all):
                conn.abort(UpstreamError("upstream pool closed"))
            p.idle.clear()


def _build_head(
    method: str, target: str, headers: Headers, body: RequestBody, origin: Origin, upgrade: bool
) -> tuple[bytes, int | None]:
    """Serialise the request head; returns it and the body length (``None``: chunked or no body)."""
    lines = [b"%s %s HTTP/1.1\r\n" % (method.encode("ascii"), target.encode("ascii"))]
    named: set[bytes] | None = None
    has_host = False
    declared: bytes | None = None
    for name, value in headers:
        lower = name.lower()
        if lower in _REQUEST_DROP:
            if lower == b"connection":
                named = (named or set()) | {t.strip().lower() for t in value.split(b",")}
                if upgrade:
                    named.discard(b"upgrade")
            elif lower == b"content-length":
                declared = value
            elif lower == b"upgrade" and upgrade:
                lines.append(b"%s: %s\r\n" % (name, value))
            continue
        if lower == b"host":
            has_host = True
        lines.append(b"%s: %s\r\n" % (name, value))
    if named:  # rare: headers the visitor marked as hop-by-hop via Connection
        lines = lines[:1] + [ln for ln in lines[1:] if ln.split(b":", 1)[0].lower() not in named]
    if not has_host:
        lines.insert(1, b"host: %s\r\n" % origin.host_header)
    length: int | None = None
    if upgrade:
        lines.append(b"connection: upgrade\r\n")
    elif isinstance(body, bytes) and body:
        lines.append(b"content-length: %d\r\n" % len(body))
    elif body is None or isinstance(body, bytes):
        if method in _LENGTH_REQUIRED:
            lines.append(b"content-length: 0\r\n")
    elif declared is not None and declared.strip().isdigit():
        length = int(declared)
        lines.append(b"content-length: %d\r\n" % length)
    else:
        lines.append(b"transfer-encoding: chunked\r\n")
    lines.append(b"\r\n")
    head = b"".join(lines)
    # One C-speed scan instead of a check per header: a CR or LF inside a name or value would
    # let a visitor smuggle a second request to the origin.
    if head.count(b"\n") != len(lines) or head.count(b"\r") != len(lines) or b" " in lines[0][len(method) + 1 : -11]:
        raise ValueError("request line or header contains CR, LF or a stray space")
    return head, length
