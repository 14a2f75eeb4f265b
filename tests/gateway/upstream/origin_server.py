"""A scriptable HTTP/1.1 origin on loopback for the upstream client's tests.

Each test passes a coroutine that drives one accepted connection. It reads requests with
``conn.read_request()`` (parsed by httptools, so the client's bytes are checked by a real
parser) and writes whatever bytes the scenario needs: well-formed, slow, truncated or
plainly wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import ssl
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httptools

from antechamber.gateway.upstream import Origin

_ids = itertools.count(1)


@dataclass
class Request:
    method: str
    target: str
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    chunked: bool = False
    conn_id: int = 0

    def header(self, name: bytes) -> bytes | None:
        name = name.lower()
        return next((v for n, v in self.headers if n.lower() == name), None)

    def names(self) -> set[bytes]:
        return {n.lower() for n, _ in self.headers}


class ServerConn:
    """The origin's side of one connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.id = next(_ids)
        self.reader = reader
        self.writer = writer
        self.done: deque[Request] = deque()
        self.current: Request | None = None
        self.upgrade_rest: bytes | None = None
        self.body_parts: list[bytes] = []
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.current = Request("", "", conn_id=self.id)
        self.body_parts = []
        self.url = b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.current is not None
        self.current.headers.append((name, value))
        if name.lower() == b"transfer-encoding" and b"chunked" in value.lower():
            self.current.chunked = True

    def on_body(self, body: bytes) -> None:
        self.body_parts.append(body)

    def on_message_complete(self) -> None:
        assert self.current is not None
        self.current.method = self.parser.get_method().decode()
        self.current.target = self.url.decode()
        self.current.body = b"".join(self.body_parts)
        self.done.append(self.current)
        self.current = None

    async def read_request(self) -> Request | None:
        """The next complete request, or ``None`` if the client closed the connection."""
        while not self.done:
            data = await self.reader.read(65536)
            if not data:
                return None
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserUpgrade as exc:
                self.upgrade_rest = data[exc.args[0] :]
        return self.done.popleft()

    def write(self, data: bytes) -> None:
        self.writer.write(data)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def respond(
        self, status: int = 200, body: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        """A well-formed Content-Length response."""
        lines = [b"HTTP/1.1 %d X\r\n" % status]
        lines += [b"%s: %s\r\n" % (n, v) for n, v in headers or []]
        lines.append(b"content-length: %d\r\n\r\n" % len(body))
        await self.send(b"".join(lines) + body)

    def close(self) -> None:
        self.writer.close()


ConnHandler = Callable[[ServerConn], Awaitable[None]]


class OriginServer:
    """Runs ``handler`` for each accepted connection; remembers every connection."""

    def __init__(self, handler: ConnHandler, ssl_context: ssl.SSLContext | None = None, port: int = 0) -> None:
        self.handler = handler
        self.ssl_context = ssl_context
        self.conns: list[ServerConn] = []
        self.requests: list[Request] = []
        self.server: asyncio.Server | None = None
        self.port = port
        self.tasks: set[asyncio.Task[Any]] = set()

    @property
    def origin(self) -> Origin:
        if self.ssl_context:
            return Origin("https", "127.0.0.1", self.port, server_hostname="localhost")
        return Origin("http", "127.0.0.1", self.port)

    async def _on_conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = ServerConn(reader, writer)
        self.conns.append(conn)
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            await self.handler(conn)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            # Python 3.11's start_server logs a cancelled handler task as an error; the
            # scenarios end connections abruptly on purpose, so all of these are normal here.
            pass
        finally:
            self.tasks.discard(task)
            writer.close()

    async def __aenter__(self) -> OriginServer:
        self.server = await asyncio.start_server(self._on_conn, "127.0.0.1", self.port, ssl=self.ssl_context)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for task in list(self.tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*self.tasks, return_exceptions=True), 5)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.server.wait_closed(), 5)


def serve(app: Callable[[Request], tuple[int, list[tuple[bytes, bytes]], bytes]]) -> ConnHandler:
    """A keep-alive handler answering each request with ``app(request)`` (Content-Length framing)."""

    async def handler(conn: ServerConn) -> None:
        while (req := await conn.read_request()) is not None:
            status, headers, body = app(req)
            await conn.respond(status, body, headers)

    return handler


def recorder(server_requests: list[Request], body: bytes = b"ok") -> ConnHandler:
    """A keep-alive handler that records each request and answers 200 ``body``."""

    def app(req: Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        server_requests.append(req)
        return 200, [(b"x-conn", str(req.conn_id).encode())], body

    return serve(app)


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def until(condition: Callable[[], bool], limit: float = 10.0) -> None:
    """Wait for ``condition`` by polling the loop; ``limit`` only guards against a hang, it asserts nothing."""
    async with asyncio.timeout(limit):
        while not condition():
            await asyncio.sleep(0.005)
