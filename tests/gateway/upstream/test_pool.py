"""The pooled HTTP/1.1 upstream client against real origins on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import socket
import ssl
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from antechamber.gateway.upstream import (
    Limits,
    Origin,
    Timeouts,
    Upstream,
    UpstreamConnectError,
    UpstreamError,
    UpstreamPool,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from tests.gateway.upstream.origin_server import OriginServer, Request, ServerConn, chunks_of, recorder, serve, until
from tests.services import free_port

MB = 1024 * 1024


def test_pool_satisfies_the_upstream_protocol() -> None:
    """UpstreamPool is usable wherever the gateway expects an Upstream."""
    assert issubclass(UpstreamPool, Upstream)


class TestFraming:
    async def test_content_length_body(self, pool: UpstreamPool) -> None:
        """Status, reason, raw header case and a Content-Length body come through as sent."""

        async def handler(conn: ServerConn) -> None:
            await conn.read_request()
            await conn.send(b"HTTP/1.1 201 Made It\r\nX-Mixed-Case: Yes\r\nContent-Length: 5\r\n\r\nhello")

        async with OriginServer(handler) as srv:
            resp = await pool.request("GET", "/", [], None, origin=srv.origin)
            assert (201, b"Made It", "1.1") == (resp.status, resp.reason, resp.http_version)
            assert [(b"X-Mixed-Case", b"Yes"), (b"Content-Length", b"5")] == resp.headers
            assert b"hello" == await resp.read()
            await resp.aclose()

    async def test_chunked_response_is_dechunked(self, pool: UpstreamPool) -> None:
        """A chunked body arrives de-chunked and Transfer-Encoding is not relayed."""

        async def handler(conn: ServerConn) -> None:
            await conn.read_request()
            await conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            await conn.send(b"6\r\n world\r\n0\r\n\r\n")

        async with OriginServer(handler) as srv:
            resp = await pool.request("GET", "/", [], None, origin=srv.origin)
            assert b"hello world" == await resp.read()
            assert [] == resp.headers
            await resp.aclose()

    async def test_chunked_trailers_are_dropped(self, pool: UpstreamPool) -> None:
        """Trailer fields after a chunked body neither corrupt the body nor leak into the response headers."""

        async def handler(conn: ServerConn) -> None:
            while await conn.read_request() is not None:
                await conn.send(
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\nX-A: 1\r\n\r\n"
                    b"3\r\nabc\r\n0\r\nX-Sum: 42\r\n\r\n"
                )

        async with OriginServer(handler) as srv:
            for _ in range(2):
                resp = await pool.request("GET", "/", [], None, origin=srv.origin)
                assert b"abc" == await resp.read()
                assert [(b"X-A", b"1")] == resp.headers
                await resp.aclose()
            assert 1 == len(srv.conns)

    async def test_http10_close_delimited_body(self, pool: UpstreamPool) -> None:
        """An HTTP/1.0 origin's body ends at EOF, and that connection is not reused."""
        seen: list[int] = []

        async def handler(conn: ServerConn) -> None:
            seen.append(conn.id)
            await conn.read_request()
            await conn.send(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
            conn.close()

        async with OriginServer(handler) as srv:
            for _ in range(2):
                resp = await pool.request("GET", "/", [], None, origin=srv.origin)
                assert b"until the end" == await resp.read()
                assert "1.0" == resp.http_version
                await resp.aclose()
            assert 2 == len(set(seen))

    @pytest.mark.parametrize(("method", "status"), [("HEAD", 200), ("GET", 204), ("GET", 304), ("HEAD", 304)])
    async def test_bodyless_responses_keep_the_connection(self, pool: UpstreamPool, method: str, status: int) -> None:
        """HEAD, 204 and 304 responses have no body even with Content-Length, and the connection is reused."""

        async def handler(conn: ServerConn) -> None:
            while (req := await conn.read_request()) is not None:
                if req.target == "/bodyless":
                    await conn.send(b"HTTP/1.1 %d X\r\nContent-Length: 1234\r\nETag: x\r\n\r\n" % status)
                else:
                    await conn.respond(200, b"next")

        async with OriginServer(handler) as srv:
            resp = await pool.request(method, "/bodyless", [], None, origin=srv.origin)
            assert b"" == await resp.read()
            assert (b"Content-Length", b"1234") in resp.headers
            await resp.aclose()
            resp = await pool.request("GET", "/after", [], None, origin=srv.origin)
            assert b"next" == await resp.read()
            await resp.aclose()
            assert 1 == len(srv.conns)

    async def test_interim_responses_are_skipped(self, pool: UpstreamPool) -> None:
        """100 Continue and 103 Early Hints are dropped; the final response is returned."""

        async def handler(conn: ServerConn) -> None:
            await conn.read_request()
            await conn.send(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n")
            await conn.respond(200, b"final")

        async with OriginServer(handler) as srv:
            resp = await pool.request("POST", "/", [], b"x", origin=srv.origin)
            assert (200, b"final") == (resp.status, await resp.read())
            assert (b"link", b"</a.css>") not in [(n.lower(), v) for n, v in resp.headers]
            await resp.aclose()

    async def test_request_framing(self, pool: UpstreamPool) -> None:
        """bytes get Content-Length, an iterator without length is chunked, one with a length is sent raw."""
        reqs: list[Request] = []
        async with OriginServer(recorder(reqs)) as srv:
            for method, body, headers in [
                ("GET", None, []),
                ("POST", None, []),
                ("POST", b"abc", [(b"content-length", b"999"), (b"transfer-encoding", b"chunked")]),
                ("POST", b"B" * MB, []),
                ("PUT", chunks_of(b"x" * 1000, 100), []),
                ("PUT", chunks_of(b"y" * 1000, 300), [(b"Content-Length", b"1000")]),
            ]:
                resp = await pool.request(method, "/", headers, body, origin=srv.origin)
                await resp.read()
                await resp.aclose()
        get, empty_post, post, big, chunked, sized = reqs
        assert (b"%d" % MB, b"B" * MB) == (big.header(b"content-length"), big.body)
        assert {b"host"} == get.names()
        assert b"0" == empty_post.header(b"content-length")
        assert (b"3", b"abc", False) == (post.header(b"content-length"), post.body, post.chunked)
        assert (True, b"x" * 1000, None) == (chunked.chunked, chunked.body, chunked.header(b"content-length"))
        assert (False, b"y" * 1000, b"1000") == (sized.chunked, sized.body, sized.header(b"content-length"))

    async def test_short_streamed_body_is_an_error(self, pool: UpstreamPool) -> None:
        """A streamed body shorter than its declared Content-Length fails the exchange."""
        reqs: list[Request] = []
        async with OriginServer(recorder(reqs)) as srv:
            with pytest.raises(UpstreamProtocolError, match="shorter"):
                await pool.request("PUT", "/", [(b"content-length", b"10")], chunks_of(b"abc", 1), origin=srv.origin)


class TestHeaders:
    async def test_hop_by_hop_stripped_both_ways(self, pool: UpstreamPool) -> None:
        """Hop-by-hop headers and those named in Connection never cross the hop, in either direction."""

        async def handler(conn: ServerConn) -> None:
            reqs.append(await conn.read_request())  # type: ignore[arg-type]
            await conn.send(
                b"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\n"
                b"Proxy-Authenticate: Basic\r\nX-End: 1\r\nContent-Length: 0\r\n\r\n"
            )

        reqs: list[Request] = []
        sent = [
            (b"Host", b"shop.example"),
            (b"Connection", b"X-Private"),
            (b"X-Private", b"secret"),
            (b"TE", b"trailers"),
            (b"Keep-Alive", b"300"),
            (b"Proxy-Authorization", b"Basic x"),
            (b"Upgrade", b"websocket"),
            (b"Accept", b"*/*"),
        ]
        async with OriginServer(handler) as srv:
            resp = await pool.request("GET", "/", sent, None, origin=srv.origin)
            await resp.aclose()
        assert [(b"Host", b"shop.example"), (b"Accept", b"*/*")] == reqs[0].headers
        assert [(b"X-End", b"1"), (b"Content-Length", b"0")] == resp.headers

    async def test_host_from_origin_when_missing(self, pool: UpstreamPool) -> None:
        """Without a Host header the client sends the origin's host and port."""
        reqs: list[Request] = []
        async with OriginServer(recorder(reqs)) as srv:
            resp = await pool.request("GET", "/", [], None, origin=srv.origin)
            await resp.aclose()
        assert f"127.0.0.1:{srv.port}".encode() == reqs[0].header(b"host")

    @pytest.mark.parametrize(
        ("target", "headers"),
        [("/a b", []), ("/", [(b"x-evil", b"1\r\nX-Injected: 1")]), ("/", [(b"x\nname", b"v")]), ("/\r\n", [])],
    )
    async def test_header_injection_rejected(
        self, pool: UpstreamPool, target: str, headers: list[tuple[bytes, bytes]]
    ) -> None:
        """CR, LF or a space in the target or headers is refused before anything is sent."""
        origin = Origin("http", "127.0.0.1", free_port())
        with pytest.raises(ValueError):
            await pool.request("GET", target, headers, None, origin=origin)

    async def test_endless_response_head(self) -> None:
        """A response head that keeps growing past max_header_bytes is cut off as a protocol error."""

        async def handler(conn: ServerConn) -> None:
            await conn.read_request()
            await conn.send(b"HTTP/1.1 200 OK\r\n")
            while True:
                await conn.send(b"X-Big: " + b"a" * 1000 + b"\r\n")

        pool = UpstreamPool(limits=Limits(max_header_bytes=4096))
        async with OriginServer(handler) as srv:
            with pytest.raises(UpstreamProtocolError, match="too large"):
                await pool.request("GET", "/", [], None, origin=srv.origin)
        await pool.aclose()


class TestKeepAlive:
    async def test_connection_is_reused(self, pool: UpstreamPool) -> None:
        """Sequential requests share one connection."""
        reqs: list[Request] = []
        async with OriginServer(recorder(reqs)) as srv:
            for _ in range(5):
                resp = await pool.request("GET", "/", [], None, origin=srv.origin)
                assert b"ok" == await resp.read()
                await resp.aclose()
            assert (1, 1) == pool.connections(srv.origin)
        assert {reqs[0].conn_id} == {r.conn_id for r in reqs}

    async def test_connection_close_is_honoured(self, pool: UpstreamPool) -> None:
        """A response with Connection: close is not followed by reuse of that connection."""
        reqs: list[Request] = []

        def app(req: Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            reqs.append(req)
            return 200, [(b"connection", b"close")], b"bye"

        async with OriginServer(serve(app)) as srv:
            for _ in range(3):
                resp = await pool.request("GET", "/", [], None, origin=srv.origin)
                assert b"bye" == await resp.read()
                await resp.aclose()
        assert 3 == len({r.conn_id for r in reqs})

    @pytest.mark.parametrize(("hint", "connections"), [(b"timeout=1, max=100", 3), (b"timeout=60", 1)])
    async def test_keep_alive_timeout_hint(self, pool: UpstreamPool, hint: bytes, connections: int) -> None:
        """An origin's Keep-Alive timeout shortens how long its idle connections are trusted (minus 1 s)."""

        def app(req: Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            return 200, [(b"Keep-Alive", hint)], b"ok"

        async with OriginServer(serve(app)) as srv:
            for _ in range(3):
                resp = await pool.request("GET", "/", [], None, origin=srv.origin)
                await resp.read()
                await resp.aclose()
            assert connections == len(srv.conns)

    async def test_idle_connection_closed_by_origin(self, pool: UpstreamPool) -> None:
        """After the origin closes an idle pooled connection, the next request succeeds on a new one."""
        closed = asyncio.Event()

        async def handler(conn: ServerConn) -> None:
            req = await conn.read_request()
            assert req is not None
            await conn.respond(200, b"once")
            conn.close()
            await conn.writer.wait_closed()
            closed.set()

        async with OriginServer(handler) as srv:
            resp = await pool.request("GET", "/", [], None, origin=srv.origin)
            await resp.read()
            await resp.aclose()
            await closed.wait()
            resp = await pool.request("GET", "/", [], None, origin=srv.origin)
            assert b"once" == await resp.read()
            await resp.aclose()
            assert 2 == len(srv.conns)

    @pytest.mark.parametrize(
        ("method", "body", "retried"), [("GET", None, True), ("PUT", b"x", True), ("POST", b"x", False)]
    )
    async def test_dead_reused_connection_retry(
        self, pool: UpstreamPool, method: str, body: bytes | None, retried: bool
    ) -> None:
        """A reused connection that dies before answering is retried once for idempotent requests only."""

        async def handler(conn: ServerConn) -> None:
            await conn.read_request()
            if len(srv.conns) == 1:
                await conn.respond(200, b"first")
                await conn.read_request()  # the origin gave up on this connection just as a request arrived
                conn.writer.transport.abort()
            else:
                await conn.respond(200, b"fresh")

        async with OriginServer(handler) as srv:
            resp = await pool.request("GET", "/", [], None, origin=srv.origin)
            assert b"first" == await resp.read()
            await resp.aclose()
            if retried:
                resp = await pool.request(method, "/", [], body, origin=srv.origin)
                assert b"fresh" == await resp.read()
                await resp.aclose()
                assert 2 == len(srv.conns)
            else:
                with pytest.raises(UpstreamProtocolError, match="without responding"):
                    await pool.request(method, "/", [], body, origin=srv.origin)
                assert 1 == len(srv.conns)

    async def test_unsolicited_bytes_drop_idle_connection(self, pool: UpstreamPool) -> None:
        """An idle connection that receives bytes nobody asked for is discarded, not reused."""
        sent = asyncio.Event()

        async def handler(conn: ServerConn) -> None:
            while await conn.read_request() is not None:
                await conn.respond(200, b"ok")
                if conn.id == srv.conns[0].id:
                    await conn.send(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n")
                    sent.set()

        async with OriginServer(handler) as srv:
            resp = await pool.request("GET", "/", [], None, origin=srv.origin)
            await resp.read()
            await resp.aclose()
            await sent.wait()
            await until(lambda: pool.connections(srv.origin)[1] == 0)  # the 408 makes the pool drop it
            resp = await pool.request("GET", "/", [], None, origin=srv.origin)
            assert 200 == resp.status
            await resp.aclose()
            assert 2 == len(srv.conns)

    async def test_unread_response_is_not_reused(self, pool: UpstreamPool) -> None:
        """Closing a response before its body is read drops the connection; the next request gets a new one."""

        async def handler(conn: ServerConn) -> None:
            while await conn.read_request() is not None:
                await conn.respond(200, b"z" * (5 * MB))  # far past the high-water mark: cannot all be read yet

        async with OriginServer(handler) as srv:
            resp = await pool.request("GET", "/", [], None, origin=srv.origin)
            await resp.aclose()
            resp = await pool.request("GET", "/", [], None, origin=srv.origin)
            assert 5 * MB == len(await resp.read())
            await resp.aclose()
            assert 2 == len(srv.conns)


class TestCap:
    async def test_connection_cap(self) -> None:
        """No more than max_connections are opened per origin; queued requests reuse them."""
        release = asyncio.Event()
        reqs: list[Request] = []

        async def handler(conn: ServerConn) -> None:
            while (req := await conn.read_request()) is not None:
                reqs.append(req)
                await release.wait()
                await conn.respond(200, b"ok")

        pool = UpstreamPool(limits=Limits(max_connections=2))
        async with OriginServer(handler) as srv:

            async def one() -> bytes:
                resp = await pool.request("GET", "/", [], None, origin=srv.origin)
                try:
                    return await resp.read()
                finally:
                    await resp.aclose()

            tasks = [asyncio.create_task(one()) for _ in range(6)]
            await until(lambda: len(reqs) == 2)
            assert (2, 0) == pool.connections(srv.origin)
            release.set()
            assert [b"ok"] * 6 == await asyncio.gather(*tasks)
            assert 2 == len(srv.conns)
        await pool.aclose()

    async def test_pool_timeout(self) -> None:
        """Waiting longer than the pool timeout for a free connection raises UpstreamTimeout('pool')."""
        release = asyncio.Event()

        async def handler(conn: ServerConn) -> None:
            await conn.read_request()
            await release.wait()
            await conn.respond(200, b"ok")

        pool = UpstreamPool(limits=Limits(max_connections=1), timeouts=Timeouts(pool=0.05))
        async with OriginServer(handler) as srv:
            first = asyncio.create_task(pool.request("GET", "/", [], None, origin=srv.origin))
            await until(lambda: bool(srv.conns))
            with pytest.raises(UpstreamTimeout) as info:
                await pool.request("GET", "/", [], None, origin=srv.origin)
            assert "pool" == info.value.phase
            release.set()
            await (await first).aclose()
        await pool.aclose()

    async def test_cancelled_request_frees_its_slot(self) -> None:
        """Cancelling an in-flight request closes its connection and frees the slot for the next one."""
        hold = asyncio.Event()

        async def handler(conn: ServerConn) -> None:
            while (req := await conn.read_request()) is not None:
                if req.target == "/hang":
                    hold.set()
                    await asyncio.Event().wait()
                await conn.respond(200, b"ok")

        pool = UpstreamPool(limits=Limits(max_connections=1))
        async with OriginServer(handler) as srv:
            hung = asyncio.create_task(pool.request("GET", "/hang", [], None, origin=srv.origin))
            await hold.wait()
            hung.cancel()
            with pytest.raises(asyncio.CancelledError):
                await hung
            resp = await pool.request("GET", "/", [], None, origin=srv.origin)
            assert b"ok" == await resp.read()
            await resp.aclose()
        await pool.aclose()


class TestClose:
    async def test_pool_close_fails_in_flight_and_new_requests(self) -> None:
        """Closing the pool fails a body still streaming and refuses further requests."""

        async def handler(conn: ServerConn) -> None:
            await conn.read_request()
            await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
            await conn.reader.read()

        pool = UpstreamPool()
        async with OriginServer(handler) as srv:
            resp = await pool.request("GET", "/", [], None, origin=srv.origin)
            await pool.aclose()
            with pytest.raises(UpstreamError):
                await resp.read()
            with pytest.raises(UpstreamError, match="closed"):
                await pool.request("GET", "/", [], None, origin=srv.origin)
            assert (0, 0) == pool.connections(srv.origin)


class TestFailures:
    async def test_connection_refused(self, pool: UpstreamPool) -> None:
        """Nothing listening is an UpstreamConnectError."""
        with pytest.raises(UpstreamConnectError):
            await pool.request("GET", "/", [], None, origin=Origin("http", "127.0.0.1", free_port()))

    async def test_read_timeout(self) -> None:
        """An origin that never sends a head trips the read (first byte) timeout."""

        async def handler(conn: ServerConn) -> None:
            await conn.read_request()
            await asyncio.Event().wait()

        pool = UpstreamPool(timeouts=Timeouts(read=0.05))
        async with OriginServer(handler) as srv:
            with pytest.raises(UpstreamTimeout) as info:
                await pool.request("GET", "/", [], None, origin=srv.origin)
            assert "read" == info.value.phase
            assert (0, 0) == pool.connections(srv.origin)
        await pool.aclose()

    async def test_idle_timeout(self) -> None:
        """A body that stalls between chunks trips the idle timeout while iterating."""

        async def handler(conn: ServerConn) -> None:
            await conn.read_request()
            await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
            await asyncio.Event().wait()

        pool = UpstreamPool(timeouts=Timeouts(idle=0.05))
        async with OriginServer(handler) as srv:
            resp = await pool.request("GET", "/", [], None, origin=srv.origin)
            body = resp.aiter_bytes()
            assert b"abc" == await body.__anext__()
            with pytest.raises(UpstreamTimeout) as info:
                await body.__anext__()
            assert "idle" == info.value.phase
            await resp.aclose()
        await pool.aclose()

    async def test_write_timeout(self) -> None:
        """An origin that stops reading a streamed upload trips the idle timeout in phase 'write'."""

        async def handler(conn: ServerConn) -> None:
            await conn.reader.readuntil(b"\r\n\r\n")
            await asyncio.Event().wait()  # never reads the body

        async def endless() -> AsyncIterator[bytes]:
            while True:
                yield b"w" * 65536

        pool = UpstreamPool(timeouts=Timeouts(idle=0.1))
        async with OriginServer(handler) as srv:
            with pytest.raises(UpstreamTimeout) as info:
                await pool.request("PUT", "/", [], endless(), origin=srv.origin)
            assert "write" == info.value.phase
        await pool.aclose()

    async def test_connect_timeout_covers_tls_handshake(self) -> None:
        """A TLS origin that accepts TCP but never completes the handshake trips the connect timeout."""

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            # Cancelled at teardown if the client's close has not arrived yet; 3.11 would log that.
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await reader.read()
            writer.close()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = UpstreamPool(timeouts=Timeouts(connect=0.05))
        with pytest.raises(UpstreamTimeout) as info:
            await pool.request("GET", "/", [], None, origin=Origin("https", "127.0.0.1", port))
        assert "connect" == info.value.phase
        await pool.aclose()
        server.close()
        await server.wait_closed()

    @pytest.mark.parametrize(
        "reply",
        [
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        ],
    )
    async def test_close_mid_response(self, pool: UpstreamPool, reply: bytes) -> None:
        """The origin hanging up mid-body surfaces as UpstreamProtocolError from the body iterator."""

        async def handler(conn: ServerConn) -> None:
            await conn.read_request()
            await conn.send(reply)
            conn.close()

        async with OriginServer(handler) as srv:
            resp = await pool.request("GET", "/", [], None, origin=srv.origin)
            with pytest.raises(UpstreamProtocolError, match="mid-response"):
                await resp.read()
            await resp.aclose()

    async def test_reset_is_not_a_clean_close_delimited_end(self, pool: UpstreamPool) -> None:
        """A connection reset (not a clean FIN) during a close-delimited body is an error, not a short body."""

        async def handler(conn: ServerConn) -> None:
            await conn.read_request()
            await conn.send(b"HTTP/1.0 200 OK\r\n\r\npartial")
            sock = conn.writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close => RST
            conn.writer.transport.abort()

        async with OriginServer(handler) as srv:
            with pytest.raises(UpstreamProtocolError):
                resp = await pool.request("GET", "/", [], None, origin=srv.origin)
                try:
                    await resp.read()
                finally:
                    await resp.aclose()

    @pytest.mark.parametrize("reply", [b"NOT HTTP AT ALL\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"])
    async def test_garbage_response(self, pool: UpstreamPool, reply: bytes) -> None:
        """A response that is not HTTP/1.1 is an UpstreamProtocolError."""

        async def handler(conn: ServerConn) -> None:
            await conn.read_request()
            await conn.send(reply)
            await conn.read_request()

        async with OriginServer(handler) as srv:
            with pytest.raises(UpstreamProtocolError):
                await pool.request("GET", "/", [], None, origin=srv.origin)

    async def test_closed_without_response(self, pool: UpstreamPool) -> None:
        """A fresh connection closed before any response byte is an UpstreamProtocolError, not retried."""

        async def handler(conn: ServerConn) -> None:
            await conn.read_request()
            conn.close()

        async with OriginServer(handler) as srv:
            with pytest.raises(UpstreamProtocolError):
                await pool.request("GET", "/", [], None, origin=srv.origin)
            assert 1 == len(srv.conns)

    async def test_request_body_error_propagates_unwrapped(self, pool: UpstreamPool) -> None:
        """An exception from the request body iterator (the visitor left) reaches the caller as is."""

        class VisitorGone(Exception):
            pass

        async def body() -> AsyncIterator[bytes]:
            yield b"part"
            raise VisitorGone

        reqs: list[Request] = []
        async with OriginServer(recorder(reqs)) as srv:
            with pytest.raises(VisitorGone):
                await pool.request("POST", "/", [], body(), origin=srv.origin)


class TestStreaming:
    async def test_response_streams_before_it_is_complete(self, pool: UpstreamPool) -> None:
        """Each chunk of a slow body reaches the consumer before the origin sends the next."""
        got = asyncio.Event()

        async def handler(conn: ServerConn) -> None:
            await conn.read_request()
            await conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for i in range(3):
                await conn.send(b"1\r\n%d\r\n" % i)
                await got.wait()
                got.clear()
            await conn.send(b"0\r\n\r\n")

        async with OriginServer(handler) as srv:
            resp = await pool.request("GET", "/", [], None, origin=srv.origin)
            seen = []
            async for chunk in resp.aiter_bytes():
                seen.append(chunk)
                got.set()
            await resp.aclose()
        assert [b"0", b"1", b"2"] == seen

    async def test_large_download_is_not_buffered(self, pool: UpstreamPool) -> None:
        """A 20 MB body streams through with reading paused: the buffer stays far below the body size."""
        payload = bytes(range(256)) * (20 * MB // 256)

        async def handler(conn: ServerConn) -> None:
            await conn.read_request()
            await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(payload))
            for i in range(0, len(payload), MB):
                await conn.send(payload[i : i + MB])

        async with OriginServer(handler) as srv:
            resp = await pool.request("GET", "/", [], None, origin=srv.origin)
            digest = hashlib.sha256()
            most = 0
            async for chunk in resp.aiter_bytes():
                digest.update(chunk)
                most = max(most, len(chunk))
                await asyncio.sleep(0)  # a consumer slower than loopback
            await resp.aclose()
        assert hashlib.sha256(payload).digest() == digest.digest()
        assert most < MB

    async def test_large_upload_streams(self, pool: UpstreamPool) -> None:
        """A 20 MB chunked upload arrives intact while the client's write buffer stays bounded."""
        total = 20 * MB
        block = b"u" * 65536
        largest_buffer = 0

        async def body() -> AsyncIterator[bytes]:
            nonlocal largest_buffer
            for _ in range(total // len(block)):
                for conn in pool._pools[srv.origin].all:
                    largest_buffer = max(largest_buffer, conn.transport.get_write_buffer_size())
                yield block

        async def handler(conn: ServerConn) -> None:
            req = await conn.read_request()
            assert req is not None
            await conn.respond(200, b"%d %s" % (len(req.body), hashlib.sha256(req.body).hexdigest().encode()))

        async with OriginServer(handler) as srv:
            resp = await pool.request("POST", "/", [], body(), origin=srv.origin)
            answer = await resp.read()
            await resp.aclose()
        assert b"%d %s" % (total, hashlib.sha256(block * (total // len(block))).hexdigest().encode()) == answer
        assert largest_buffer < 2 * MB

    async def test_echo_streams_both_ways(self, pool: UpstreamPool) -> None:
        """An origin that echoes while it reads gets request and response streamed at the same time."""

        async def handler(conn: ServerConn) -> None:
            head = await conn.reader.readuntil(b"\r\n\r\n")
            assert b"chunked" in head
            await conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            while True:
                size = int((await conn.reader.readline()).strip(), 16)
                data = await conn.reader.readexactly(size + 2)
                await conn.send(b"%x\r\n" % size + data)
                if size == 0:
                    break

        pieces = [b"%05d" % i for i in range(200)]
        echoed = asyncio.Queue[bytes]()

        async def body() -> AsyncIterator[bytes]:
            for piece in pieces:
                yield piece
                # The next piece goes only after this one came back: impossible if either side buffered.
                await echoed.get()

        async with OriginServer(handler) as srv:
            resp = await pool.request("POST", "/", [], body(), origin=srv.origin)
            got = []
            async for chunk in resp.aiter_bytes():
                got.append(chunk)
                echoed.put_nowait(chunk)
            await resp.aclose()
        assert b"".join(pieces) == b"".join(got)

    async def test_early_response_during_upload(self, pool: UpstreamPool) -> None:
        """An origin that answers before reading the whole body is relayed, and the connection is dropped."""

        async def handler(conn: ServerConn) -> None:
            await conn.reader.readuntil(b"\r\n\r\n")
            await conn.send(b"HTTP/1.1 413 Too Large\r\nContent-Length: 3\r\n\r\nno!")
            await conn.reader.read()

        async def endless() -> AsyncIterator[bytes]:
            while True:
                yield b"x" * 65536

        async with OriginServer(handler) as srv:
            resp = await pool.request("POST", "/", [], endless(), origin=srv.origin)
            assert (413, b"no!") == (resp.status, await resp.read())
            await resp.aclose()
            assert (0, 0) == pool.connections(srv.origin)


class TestUpgrade:
    async def test_websocket_style_echo(self, pool: UpstreamPool) -> None:
        """On 101 the caller gets the raw connection, including bytes sent right after the head."""

        async def handler(conn: ServerConn) -> None:
            req = await conn.read_request()
            assert req is not None and b"websocket" == req.header(b"upgrade")
            await conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhi!")
            rest = conn.upgrade_rest or b""
            if rest:
                await conn.send(rest)
            while data := await conn.reader.read(1024):
                await conn.send(data)

        headers = [
            (b"Host", b"x"),
            (b"Upgrade", b"websocket"),
            (b"Connection", b"Upgrade"),
            (b"Sec-WebSocket-Key", b"k"),
        ]
        async with OriginServer(handler) as srv:
            up = await pool.upgrade("GET", "/ws", headers, origin=srv.origin)
            assert 101 == up.response.status
            assert (b"Upgrade", b"websocket") in up.response.headers
            assert up.reader is not None and up.writer is not None
            assert b"hi!" == await up.reader.readexactly(3)
            up.writer.write(b"ping")
            assert b"ping" == await up.reader.readexactly(4)
            up.writer.close()
            assert (0, 0) == pool.connections(srv.origin)

    async def test_refused_upgrade_is_a_plain_response(self, pool: UpstreamPool) -> None:
        """When the origin does not switch protocols, the answer comes back as an ordinary response."""
        reqs: list[Request] = []
        async with OriginServer(recorder(reqs, b"no websockets here")) as srv:
            up = await pool.upgrade("GET", "/ws", [(b"Upgrade", b"websocket")], origin=srv.origin)
            assert (200, None, None) == (up.response.status, up.reader, up.writer)
            assert b"no websockets here" == await up.response.read()
            await up.response.aclose()
        assert b"upgrade" == reqs[0].header(b"connection")

    async def test_unrequested_101_is_an_error(self, pool: UpstreamPool) -> None:
        """A 101 answer to a plain request is a protocol error."""

        async def handler(conn: ServerConn) -> None:
            await conn.read_request()
            await conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n")
            await conn.reader.read()

        async with OriginServer(handler) as srv:
            with pytest.raises(UpstreamProtocolError):
                await pool.request("GET", "/", [], None, origin=srv.origin)


def _self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context for a 'localhost' certificate and a client context that trusts only it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = tmp_path / "cert.pem"
    key_pem = tmp_path / "key.pem"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_pem, key_pem)
    client = ssl.create_default_context(cafile=str(cert_pem))
    return server, client


class TestTLS:
    async def test_https_origin_with_reuse(self, tmp_path: Path) -> None:
        """HTTPS origins work through asyncio SSL, verified against the given CA, with keep-alive."""
        server_ctx, client_ctx = _self_signed(tmp_path)
        reqs: list[Request] = []
        pool = UpstreamPool(ssl_context=client_ctx)
        async with OriginServer(recorder(reqs, b"secret"), ssl_context=server_ctx) as srv:
            for _ in range(3):
                resp = await pool.request("GET", "/", [], None, origin=srv.origin)
                assert b"secret" == await resp.read()
                await resp.aclose()
        await pool.aclose()
        assert 1 == len({r.conn_id for r in reqs})

    async def test_wrong_name_is_a_connect_error(self, tmp_path: Path) -> None:
        """A certificate that does not match server_hostname fails as UpstreamConnectError."""
        server_ctx, client_ctx = _self_signed(tmp_path)
        pool = UpstreamPool(ssl_context=client_ctx)
        async with OriginServer(recorder([]), ssl_context=server_ctx) as srv:
            origin = Origin("https", "127.0.0.1", srv.port, server_hostname="shop.example")
            with pytest.raises(UpstreamConnectError, match="certificate"):
                await pool.request("GET", "/", [], None, origin=origin)
        await pool.aclose()

    async def test_upgrade_over_tls(self, tmp_path: Path) -> None:
        """An upgraded HTTPS connection is handed over with its TLS layer intact."""
        server_ctx, client_ctx = _self_signed(tmp_path)

        async def handler(conn: ServerConn) -> None:
            await conn.read_request()
            await conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
            while data := await conn.reader.read(1024):
                await conn.send(data[::-1])

        pool = UpstreamPool(ssl_context=client_ctx)
        async with OriginServer(handler, ssl_context=server_ctx) as srv:
            up = await pool.upgrade("GET", "/", [(b"Upgrade", b"echo")], origin=srv.origin)
            assert up.reader is not None and up.writer is not None
            up.writer.write(b"stressed")
            assert b"desserts" == await up.reader.readexactly(8)
            up.writer.close()
        await pool.aclose()


def test_pool_built_outside_a_loop_binds_at_first_request() -> None:
    """A pool created before any event loop runs (e.g. by a CLI) binds to the loop of its first request."""
    pool = UpstreamPool()

    async def use() -> bytes:
        async with OriginServer(recorder([], b"late")) as srv:
            resp = await pool.request("GET", "/", [], None, origin=srv.origin)
            body = await resp.read()
            await resp.aclose()
        await pool.aclose()
        return body

    assert b"late" == asyncio.run(use())
