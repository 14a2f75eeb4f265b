"""Many concurrent exchanges of mixed shapes through a small pool: nothing is lost, mixed up or leaked."""

from __future__ import annotations

import asyncio
import random

from antechamber.gateway.upstream import Limits, UpstreamPool, UpstreamProtocolError
from tests.gateway.upstream.origin_server import OriginServer, ServerConn


async def _origin(conn: ServerConn) -> None:
    while (req := await conn.read_request()) is not None:
        kind, _, n = req.target.strip("/").partition("/")
        body = (b"%s-%s;" % (kind.encode(), n.encode())) * (int(n) % 50 + 1)
        if kind == "length":
            await conn.respond(200, body)
        elif kind == "chunked":
            await conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for i in range(0, len(body), 7):
                await conn.send(b"%x\r\n%s\r\n" % (len(body[i : i + 7]), body[i : i + 7]))
            await conn.send(b"0\r\n\r\n")
        elif kind == "close":
            await conn.send(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            return
        elif kind == "head":
            await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
        elif kind == "upload":
            await conn.respond(200, req.body[::-1])
        else:  # "broken": cut off mid-body
            await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial")
            return


async def test_mixed_concurrent_exchanges() -> None:
    """400 requests of six shapes, 64 at a time through 8 connections, each get exactly their own answer."""
    rng = random.Random(1234)
    kinds = ["length", "chunked", "close", "head", "upload", "broken"]
    plan = [(rng.choice(kinds), n) for n in range(400)]
    pool = UpstreamPool(limits=Limits(max_connections=8))
    gate = asyncio.Semaphore(64)

    async def one(kind: str, n: int) -> None:
        async with gate:
            expected = (b"%s-%d;" % (kind.encode(), n)) * (n % 50 + 1)
            method, body = ("HEAD", None) if kind == "head" else ("GET", None)
            if kind == "upload":
                method, body = "POST", expected[::-1]
            resp = await pool.request(method, f"/{kind}/{n}", [], body, origin=srv.origin)
            try:
                if kind == "broken":
                    try:
                        await resp.read()
                    except UpstreamProtocolError:
                        return
                    raise AssertionError("a cut-off body must fail")
                assert (b"" if kind == "head" else expected) == await resp.read()
            finally:
                await resp.aclose()

    async with OriginServer(_origin) as srv:
        await asyncio.gather(*(one(kind, n) for kind, n in plan))
        opened, idle = pool.connections(srv.origin)
        assert opened == idle and opened <= 8
    await pool.aclose()
