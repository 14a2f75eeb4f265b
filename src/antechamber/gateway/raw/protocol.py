"""The raw server's connection: an ``asyncio.Protocol`` parsing HTTP/1.1 with httptools.

One connection serves its requests strictly in order (keep-alive and
pipelining): a request waits in ``pending`` until the one before it has been
answered in full. A request the gateway answers by itself (forward auth, queue
pages) is decided and written synchronously, without an ASGI round trip or a
task; one that goes on to the origin runs :func:`~antechamber.gateway.proxy.forward`
in a task with :class:`~antechamber.gateway.raw.cycle.ProxyCycle` as its
``receive``/``send``.

Limits (see :class:`Limits`): the request head's size (431/414), the number of
headers (431), a slow head (closed after ``head_timeout``), a stalled body
(closed after ``body_timeout`` without a byte), idle keep-alive connections,
pipelined requests waiting (reading pauses), and buffered body bytes (reading
pauses until the origin takes them). A request the parser rejects gets a 400
and the connection is closed; nothing a client sends raises out of here.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote

import httptools

from antechamber.gateway.app import Action, Forward
from antechamber.gateway.pages import Reply
from antechamber.gateway.raw.cycle import ProxyCycle, Request
from antechamber.gateway.raw.upgrade import Upgrade, request_head
from antechamber.gateway.raw.wire import CONTINUE, error_bytes, reply_bytes
from antechamber.gateway.request_path import Deferred

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
#: Decides a request without I/O (``Gateway.handle``).
Handler = Callable[[Scope], Action]


@dataclass(frozen=True, slots=True)
class Limits:
    """The raw server's limits and timeouts (seconds)."""

    #: Request line plus headers, in bytes (uvicorn/h11 use 64 KiB; browsers send a few KiB).
    max_head_bytes: int = 32 * 1024
    max_headers: int = 100
    #: From the first byte of a request to the end of its headers (slowloris).
    head_timeout: float = 10.0
    #: Longest silence while a request body is still coming.
    body_timeout: float = 30.0
    #: An idle keep-alive connection is closed after this.
    keep_alive_timeout: float = 5.0
    #: Parsed requests waiting behind the one being served before reading pauses.
    max_pipeline: int = 16
    #: Buffered request body bytes before reading pauses (uvicorn's HIGH_WATER_LIMIT).
    high_water: int = 64 * 1024


_NONE = float("inf")
_ASGI = {"version": "3.0", "spec_version": "2.3"}
_IDLE, _HEAD, _BODY = 0, 1, 2


class _Reject(Exception):
    """A limit was exceeded inside a parser callback; ``status`` is the answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class HttpProtocol(asyncio.Protocol):
    """One client connection."""

    __slots__ = (
        "_connections",
        "_failure",
        "_head_bytes",
        "_headers",
        "_timeout",
        "_paused",
        "_upgrade_head",
        "_url",
        "active",
        "client",
        "closed",
        "current",
        "deadline",
        "handler",
        "limits",
        "loop",
        "parser",
        "pending",
        "server",
        "transport",
        "upgrade",
        "writable",
    )

    def __init__(
        self, handler: Handler, limits: Limits, connections: set[HttpProtocol], upgrade: Upgrade | None = None
    ) -> None:
        self.handler = handler
        #: Serves WebSocket upgrades (None: they are refused with 501).
        self.upgrade = upgrade
        self._upgrade_head: bytes | None = None
        self.limits = limits
        self.loop = asyncio.get_running_loop()
        self._connections = connections
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.client: tuple[str, int] | None = None
        self.server: tuple[str, int] | None = None
        self.closed = False
        #: The request being served (answered, or forwarded in a task), if any.
        self.active: Request | None = None
        #: The request whose body the parser is reading, if any.
        self.current: Request | None = None
        self.pending: deque[Request] = deque()
        self.writable = asyncio.Event()
        self.writable.set()
        #: Why reading is paused ("pipeline", "body", "write"); resumed when empty.
        self._paused: set[str] = set()
        #: An error answer held back until the requests before it are answered.
        self._failure: bytes | None = None
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_bytes = 0
        # Timeouts are deadlines checked by the server's reaper a few times a second,
        # not a timer per request: arming and cancelling loop timers on every request
        # cost more than parsing it. _timeout says what the deadline is for.
        self.deadline = _NONE
        self._timeout = _IDLE

    # --- connection events -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, so no isinstance check here.
        self.transport = cast(asyncio.Transport, transport)
        self._connections.add(self)
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.client = (str(peer[0]), int(peer[1]))
        if isinstance(local, tuple) and len(local) >= 2:
            self.server = (str(local[0]), int(local[1]))
        # The first request must begin within the keep-alive timeout, like any later one.
        self._wait(_IDLE, self.limits.keep_alive_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._connections.discard(self)
        self.deadline = _NONE
        for request in (self.active, self.current):
            if request is not None:
                request.lost()
        self.pending.clear()
        self.writable.set()  # a task waiting to write wakes and finds the connection gone

    def pause_writing(self) -> None:
        self.writable.clear()
        self.pause_reading("write")

    def resume_writing(self) -> None:
        self.writable.set()
        self.resume_reading("write")

    def data_received(self, data: bytes) -> None:
        if self._timeout == _IDLE:
            self.deadline = _NONE  # on_message_begin sets the head's deadline
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            head = self._upgrade_head
            if head is None:
                return  # a non-WebSocket upgrade, served as plain HTTP; the connection ends with it
            if self.upgrade is None or self.active is not None or self.pending or self.transport is None:
                self.fail(501, "WebSocket is not served here")
                return
            self._hand_over(head + data[int(exc.args[0]) :] if exc.args else head)
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, _Reject):
                self.fail(cause.status, cause.message)
            else:
                logger.exception("raw server: request handling failed")
                self.fail(500, "Internal error")
        except httptools.HttpParserError:
            self.fail(400, "Bad request")

    def _hand_over(self, replay: bytes) -> None:
        """Give the connection to the WebSocket protocol (this one is done with it)."""
        assert self.upgrade is not None and self.transport is not None
        self.deadline = _NONE
        self._connections.discard(self)
        self.closed = True  # nothing here writes to the transport any more
        self.upgrade(self.transport, replay)

    # --- parser callbacks ------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._head_bytes = 0
        self._wait(_HEAD, self.limits.head_timeout)

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head_bytes += len(url)
        if self._head_bytes > self.limits.max_head_bytes:
            raise _Reject(414, "URI too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > self.limits.max_head_bytes or len(self._headers) >= self.limits.max_headers:
            raise _Reject(431, "Request header fields too large")
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.deadline = _NONE
        parser = self.parser
        method = parser.get_method().decode("ascii")
        if method == "CONNECT":
            raise _Reject(405, "CONNECT is not supported")
        try:
            url = httptools.parse_url(self._url)
        except httptools.HttpParserInvalidURLError:
            raise _Reject(400, "Bad request target") from None
        raw_path: bytes = url.path or b"/"
        # As uvicorn: the target must be ASCII, and %-escapes decode as UTF-8, so rooms'
        # path prefixes match exactly as they do behind the ASGI server.
        try:
            path = raw_path.decode("ascii")
        except UnicodeDecodeError:
            raise _Reject(400, "Bad request target") from None
        if "%" in path:
            path = unquote(path)
        headers = self._headers
        scope: Scope = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": parser.get_http_version(),
            "server": self.server,
            "client": self.client,
            "scheme": "http",
            "method": method,
            "root_path": "",
            "path": path,
            "raw_path": raw_path,
            "query_string": url.query or b"",
            "headers": headers,
        }
        expect = False
        for name, value in headers:
            if name == b"expect" and value.lower() == b"100-continue":
                expect = True
        keep_alive = parser.should_keep_alive()
        if parser.should_upgrade():
            upgrade = b",".join(value for name, value in headers if name == b"upgrade").lower()
            if b"websocket" in upgrade:
                # feed_data raises HttpParserUpgrade right after; the connection is handed over there.
                self._upgrade_head = request_head(method, self._url, headers)
                return
            # Another protocol (h2c ...): serve the request over HTTP/1.1, as if no upgrade was
            # offered; the parser stops after an upgrade request, so the connection ends with it.
            keep_alive = False
        request = Request(scope, keep_alive=keep_alive, expect=expect)
        self.current = request
        if self.active is None and not self.pending:
            self._start(request)
        else:
            self.pending.append(request)
            if len(self.pending) >= self.limits.max_pipeline:
                self.pause_reading("pipeline")
        if self.current is request and not request.complete:
            self._wait(_BODY, self.limits.body_timeout)

    def on_body(self, body: bytes) -> None:
        self._wait(_BODY, self.limits.body_timeout)
        request = self.current
        if request is None or request.discard:
            return
        request.feed(body)
        if request.buffered > self.limits.high_water:
            self.pause_reading("body")

    def on_message_complete(self) -> None:
        self.deadline = _NONE
        request = self.current
        self.current = None
        if request is None:
            return
        request.finish_body()
        if request is self.active:
            if request.reply is not None:
                self._answer(request, request.reply)
            elif request.responded:
                self._advance()

    # --- serving ---------------------------------------------------------------------------

    def _start(self, request: Request) -> None:
        """Make ``request`` the active one: decide it, then answer or forward it."""
        self.active = request
        try:
            action = self.handler(request.scope)
        except Exception:
            logger.exception("raw server: the gateway failed on a request")
            self.active = None
            self.fail(500, "Internal error")
            return
        if isinstance(action, Deferred):
            request.task = self.loop.create_task(self._deferred(request, action))
            return
        self._act(request, action)

    async def _deferred(self, request: Request, deferred: Deferred[Forward]) -> None:
        """An admission that first draws a slot from the shared store, then goes on as any other."""
        try:
            action = await deferred.action
        except Exception:
            logger.exception("raw server: the gateway failed on a request")
            self.active = None
            self.fail(500, "Internal error")
            return
        if not self.closed and request is self.active:
            self._act(request, action)

    def _act(self, request: Request, action: Reply | Forward) -> None:
        if isinstance(action, Reply):
            # The answer does not depend on the body: discard it, answer once it has been read.
            request.drop_body()
            request.reply = action
            if request.complete:
                self._answer(request, action)
            elif request.expect and self.transport is not None:
                self.transport.write(CONTINUE)  # the client waits for this before sending the body
            return
        cycle = ProxyCycle(self, request)
        request.task = self.loop.create_task(cycle.run(action))

    def _answer(self, request: Request, reply: Reply) -> None:
        if self.transport is None or self.closed:
            return
        head = request.scope["method"] == "HEAD"
        self.transport.write(reply_bytes(reply, head=head, keep_alive=request.keep_alive))
        request.responded = True
        if not request.keep_alive:
            self.close()
            return
        self._advance()

    def response_done(self, request: Request) -> None:
        """Called by the cycle when its response has been written in full."""
        if not request.keep_alive or (request.expect and not request.complete):
            # (The client may still be waiting for 100 Continue and never send the body.)
            self.close()
        elif request.complete:
            self._advance()
        else:
            # The origin answered without reading the whole body: drop the rest as it
            # arrives, and serve the next request once it has been read.
            request.drop_body()
            self.resume_reading("body")

    def _advance(self) -> None:
        """The active request is done: serve the waiting ones, in order."""
        self.active = None
        while self.pending and self.active is None and not self.closed:
            self._start(self.pending.popleft())
        if self.active is None and self._failure is not None:
            if self.transport is not None and not self.closed:
                self.transport.write(self._failure)
            self.close()
            return
        if len(self.pending) < self.limits.max_pipeline:
            self.resume_reading("pipeline")
        if self.active is None and self.current is None and not self.closed:
            self._wait(_IDLE, self.limits.keep_alive_timeout)

    # --- flow control and errors -----------------------------------------------------------

    def pause_reading(self, reason: str) -> None:
        if not self._paused and self.transport is not None and not self.closed:
            self.transport.pause_reading()
        self._paused.add(reason)

    def resume_reading(self, reason: str) -> None:
        if reason in self._paused:
            self._paused.discard(reason)
            if not self._paused and self.transport is not None and not self.closed:
                self.transport.resume_reading()

    def _wait(self, kind: int, seconds: float) -> None:
        self._timeout = kind
        self.deadline = self.loop.time() + seconds

    def check_deadline(self, now: float) -> None:
        """Called by the server's reaper: act on a deadline that has passed."""
        if now < self.deadline:
            return
        self.deadline = _NONE
        if self._timeout == _IDLE:
            self.close()
        else:
            self._timed_out()

    def _timed_out(self) -> None:
        # A slow head or a stalled body: the client is gone or hostile. A 408 goes out when
        # nothing else is being answered; otherwise the connection is simply dropped.
        if self.active is None and not self.pending and self.transport is not None and not self.closed:
            self.transport.write(error_bytes(408, "Request timeout"))
        self.close()

    def fail(self, status: int, message: str) -> None:
        """Answer with an error and close; after the requests before it, if any are still being served."""
        if self.active is not None or self.pending:
            # Answers go out in request order: the error waits for the earlier requests.
            self._failure = error_bytes(status, message)
            self.pause_reading("failed")
            return
        if self.transport is not None and not self.closed:
            self.transport.write(error_bytes(status, message))
        self.close()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    def shutdown(self) -> None:
        """Close now if idle; otherwise after the request in progress (server stopping)."""
        if self.active is None and self.current is None:
            self.close()
        elif self.active is not None:
            self.active.keep_alive = False
