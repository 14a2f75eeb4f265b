"""MockUpstream: the I/O-free Upstream for gateway tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from antechamber.gateway.upstream import (
    MockRequest,
    MockResponse,
    MockUpstream,
    Origin,
    Upstream,
    UpstreamTimeout,
)

ORIGIN = Origin.parse("http://origin.internal:8080")


def test_mock_satisfies_the_upstream_protocol() -> None:
    """MockUpstream can stand in wherever the gateway expects an Upstream."""
    assert isinstance(MockUpstream(lambda r: MockResponse()), Upstream)


async def test_sync_handler_and_recorded_request() -> None:
    """A sync handler answers; the request, with its streamed body read in full, is recorded."""

    async def body() -> AsyncIterator[bytes]:
        yield b"a"
        yield b"b"

    upstream = MockUpstream(lambda r: MockResponse(201, [(b"x", b"1")], [b"he", b"llo"]))
    resp = await upstream.request("POST", "/p?q=1", [(b"Host", b"shop")], body(), origin=ORIGIN)
    assert (201, [(b"x", b"1")], b"hello") == (resp.status, resp.headers, await resp.read())
    await resp.aclose()
    [req] = upstream.requests
    assert ("POST", "/p?q=1", b"ab", b"shop", ORIGIN) == (
        req.method,
        req.target,
        req.body,
        req.header(b"HOST"),
        req.origin,
    )
    assert upstream.responses[0].closed


async def test_async_handler_can_fail() -> None:
    """An async handler may raise an UpstreamError to simulate a failing origin."""

    async def handler(request: MockRequest) -> MockResponse:
        raise UpstreamTimeout("read", 30)

    with pytest.raises(UpstreamTimeout):
        await MockUpstream(handler).request("GET", "/", [], None, origin=ORIGIN)


async def test_upgrade_pipe() -> None:
    """On 101 the gateway gets streams wired to the handler's on_upgrade coroutine."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(100):
            writer.write(data.upper())

    upstream = MockUpstream(lambda r: MockResponse(101, [(b"upgrade", b"websocket")], on_upgrade=echo))
    up = await upstream.upgrade("GET", "/ws", [], origin=ORIGIN)
    assert up.reader is not None and up.writer is not None
    up.writer.write(b"ping")
    assert b"PING" == await up.reader.readexactly(4)
    up.writer.close()
    await up.writer.wait_closed()
    assert b"" == await up.reader.read()
    assert upstream.requests[0].upgrade
    await upstream.aclose()


async def test_refused_upgrade() -> None:
    """A non-101 answer to an upgrade comes back as a plain response without streams."""
    up = await MockUpstream(lambda r: MockResponse(404)).upgrade("GET", "/ws", [], origin=ORIGIN)
    assert (404, None, None) == (up.response.status, up.reader, up.writer)
