"""An I/O-free :class:`Upstream` for gateway tests, after httpx's ``MockTransport``.

Example::

    async def origin(request: MockRequest) -> MockResponse:
        assert request.header(b"x-forwarded-proto") == b"https"
        return MockResponse(200, [(b"content-type", b"text/plain")], b"hello")

    upstream = MockUpstream(origin)

The handler may be sync or async, may raise any :class:`UpstreamError` to simulate a failure,
and may return a body as ``bytes`` or as a list of chunks. For an Upgrade, return
``MockResponse(101, ..., on_upgrade=fn)``: ``fn(reader, writer)`` runs as the origin's end
of an in-memory pipe whose other end the gateway receives.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from antechamber.gateway.upstream.base import Headers, Origin, RequestBody, Upgraded, Upstream, UpstreamResponse

__all__ = ["MockRequest", "MockResponse", "MockUpstream"]

UpgradeHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass(slots=True)
class MockRequest:
    """What the gateway sent; the body is read in full before the handler runs."""

    method: str
    target: str
    headers: Headers
    body: bytes
    origin: Origin
    upgrade: bool = False

    def header(self, name: bytes) -> bytes | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        name = name.lower()
        return next((v for n, v in self.headers if n.lower() == name), None)


@dataclass(slots=True)
class MockResponse:
    """A canned response; implements :class:`UpstreamResponse`. ``closed`` tells tests it was released."""

    status: int = 200
    headers: Headers = field(default_factory=list)
    content: bytes | list[bytes] = b""
    reason: bytes = b""
    http_version: str = "1.1"
    on_upgrade: UpgradeHandler | None = None
    closed: bool = False

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """Yield the canned body (one chunk, or the given chunks)."""
        chunks = [self.content] if isinstance(self.content, bytes) else self.content
        for chunk in chunks:
            if chunk:
                yield chunk

    async def read(self) -> bytes:
        """The whole canned body."""
        return b"".join([c async for c in self.aiter_bytes()])

    async def aclose(self) -> None:
        """Mark the response released."""
        self.closed = True


Handler = Callable[[MockRequest], "MockResponse | Awaitable[MockResponse]"]


class MockUpstream:
    """Answers every request by calling ``handler``; records requests in ``requests``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[MockRequest] = []
        self.responses: list[MockResponse] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def _call(self, request: MockRequest) -> MockResponse:
        self.requests.append(request)
        result = self.handler(request)
        response = await result if inspect.isawaitable(result) else result
        self.responses.append(response)
        return response

    async def request(
        self, method: str, target: str, headers: Headers, body: RequestBody, *, origin: Origin
    ) -> MockResponse:
        """Read the body, call the handler, return its response."""
        if body is None:
            data = b""
        elif isinstance(body, bytes):
            data = body
        else:
            data = b"".join([chunk async for chunk in body])
        return await self._call(MockRequest(method, target, list(headers), data, origin))

    async def upgrade(self, method: str, target: str, headers: Headers, *, origin: Origin) -> Upgraded:
        """Call the handler; on 101 connect the gateway to ``on_upgrade`` through an in-memory pipe."""
        response = await self._call(MockRequest(method, target, list(headers), b"", origin, upgrade=True))
        if response.status != 101 or response.on_upgrade is None:
            return Upgraded(response)
        loop = asyncio.get_running_loop()
        gateway_reader, origin_reader = asyncio.StreamReader(), asyncio.StreamReader()
        gateway_writer = _pipe_writer(loop, gateway_reader, origin_reader)
        origin_writer = _pipe_writer(loop, origin_reader, gateway_reader)
        task = loop.create_task(_run_origin(response.on_upgrade, origin_reader, origin_writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return Upgraded(response, gateway_reader, gateway_writer)

    async def aclose(self) -> None:
        """Cancel upgrade handlers that are still running."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def _run_origin(fn: UpgradeHandler, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await fn(reader, writer)
    finally:
        writer.close()


class _PipeTransport(asyncio.Transport):
    """Writes go straight into the peer's StreamReader; closing feeds it EOF."""

    def __init__(self, loop: asyncio.AbstractEventLoop, peer: asyncio.StreamReader) -> None:
        super().__init__()
        self._loop = loop
        self._peer = peer
        self._closing = False
        self.protocol: asyncio.StreamReaderProtocol | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._closing:
            self._peer.feed_data(bytes(data))

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self._peer.feed_eof()

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            self._peer.feed_eof()
            if self.protocol is not None:
                self._loop.call_soon(self.protocol.connection_lost, None)

    def pause_reading(self) -> None:
        pass  # the peer writes synchronously; there is nothing to pause

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


def _pipe_writer(
    loop: asyncio.AbstractEventLoop, own: asyncio.StreamReader, peer: asyncio.StreamReader
) -> asyncio.StreamWriter:
    transport = _PipeTransport(loop, peer)
    protocol = asyncio.StreamReaderProtocol(own, loop=loop)
    transport.protocol = protocol
    protocol.connection_made(transport)
    return asyncio.StreamWriter(transport, protocol, own, loop)


if TYPE_CHECKING:  # mypy proves the mock fits the seam structurally

    def _fits(upstream: MockUpstream, response: MockResponse) -> tuple[Upstream, UpstreamResponse]:
        return upstream, response
