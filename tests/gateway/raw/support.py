"""A raw server with a small handler and a mock origin, and a client that speaks bytes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httptools

from antechamber.gateway.app import Forward
from antechamber.gateway.pages import Reply
from antechamber.gateway.proxy import Hop
from antechamber.gateway.raw import Limits, RawServer, start_raw_server
from antechamber.gateway.upstream import MockRequest, MockResponse, MockUpstream, Origin, UpstreamConnectError

ORIGIN = Origin.parse("http://origin.test")


async def origin(request: MockRequest) -> MockResponse:
    """Echoes the request; ``/fwd/slow`` answers late, ``/fwd/stream`` in chunks of unknown length."""
    if request.target.startswith("/fwd/slow"):
        await asyncio.sleep(0.05)
    if request.target.startswith("/fwd/down"):
        raise UpstreamConnectError("refused")
    if request.target.startswith("/fwd/stream"):
        return MockResponse(200, [(b"content-type", b"text/plain")], [b"one;", b"two;", b"three"])
    body = f"{request.method} {request.target} {len(request.body)}:".encode() + request.body
    return MockResponse(200, [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())], body)


def handler(scope: Any) -> Reply | Forward:
    """``/fwd/*`` goes to the origin; ``/boom`` raises; anything else is answered at once."""
    path: str = scope["path"]
    if path.startswith("/fwd/"):
        return Forward(Hop(UPSTREAM, ORIGIN, "http", None, False))
    if path == "/boom":
        raise RuntimeError("handler bug")
    return Reply(200, f"{scope['method']} {path}".encode(), [(b"content-type", b"text/plain")])


UPSTREAM = MockUpstream(origin)


@asynccontextmanager
async def raw_server(**limits: Any) -> AsyncIterator[RawServer]:
    """The raw server on a free loopback port, with ``limits`` overridden."""
    server = await start_raw_server(handler, "127.0.0.1", 0, limits=Limits(**limits))
    try:
        yield server
    finally:
        await server.aclose(grace=0.5)


@dataclass
class Response:
    """One parsed response."""

    status: int = 0
    headers: dict[bytes, bytes] = field(default_factory=dict)
    body: bytes = b""
    chunked: bool = False


class _Collector:
    def __init__(self) -> None:
        self.done: list[Response] = []
        self.current = Response()
        self.parser: Any = None

    def on_headers_complete(self) -> None:
        self.current.status = self.parser.get_status_code()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.current.headers[name.lower()] = value

    def on_body(self, body: bytes) -> None:
        self.current.body += body

    def on_chunk_header(self) -> None:
        self.current.chunked = True

    def on_message_complete(self) -> None:
        self.done.append(self.current)
        self.current = Response()


class Client:
    """One connection that writes raw bytes and parses the answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._collector = _Collector()
        self._parser = httptools.HttpResponseParser(self._collector)
        self._collector.parser = self._parser

    @classmethod
    async def connect(cls, server: RawServer) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def responses(self, count: int) -> list[Response]:
        """Read until ``count`` responses arrived (or the connection closed)."""
        collector = self._collector
        while len(collector.done) < count:
            data = await asyncio.wait_for(self.reader.read(65536), 10)
            if not data:
                break
            self._parser.feed_data(data)
        found, collector.done = collector.done[:count], collector.done[count:]
        return found

    async def status_codes(self, count: int) -> list[int]:
        return [r.status for r in await self.responses(count)]

    async def closed(self) -> bytes:
        """Everything the server still sends until it closes the connection."""
        return await asyncio.wait_for(self.reader.read(), 10)

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass
