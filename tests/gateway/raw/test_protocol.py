"""The raw HTTP/1.1 server on its own: framing, ordering, limits and timeouts."""

from __future__ import annotations

import random

import pytest
import uvloop

from tests.gateway.raw.support import UPSTREAM, Client, raw_server


def get(path: str, *extra: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: t", *extra, "", ""]
    return "\r\n".join(lines).encode()


class TestKeepAliveAndPipelining:
    async def test_keep_alive_serves_many_requests(self) -> None:
        """Requests one after another share one connection."""
        async with raw_server() as server:
            client = await Client.connect(server)
            for path in ("/a", "/fwd/b", "/c"):
                await client.send(get(path))
                (response,) = await client.responses(1)
                assert 200 == response.status
            await client.close()

    async def test_pipelined_answers_keep_request_order(self) -> None:
        """Pipelined requests are answered in order, even when an earlier one waits on the origin."""
        async with raw_server() as server:
            client = await Client.connect(server)
            await client.send(get("/fwd/slow/1") + get("/2") + get("/fwd/3") + get("/4"))
            bodies = [r.body for r in await client.responses(4)]
            assert [b"GET /fwd/slow/1 0:", b"GET /2", b"GET /fwd/3 0:", b"GET /4"] == bodies
            await client.close()

    async def test_connection_close_is_honoured(self) -> None:
        """``Connection: close`` gets the header back and the server closes after the answer."""
        async with raw_server() as server:
            client = await Client.connect(server)
            await client.send(get("/a", "Connection: close") + get("/never"))
            (response,) = await client.responses(1)
            assert b"close" == response.headers[b"connection"]
            assert b"" == await client.closed()

    async def test_http_10_closes_by_default(self) -> None:
        """An HTTP/1.0 request without keep-alive ends its connection."""
        async with raw_server() as server:
            client = await Client.connect(server)
            await client.send(b"GET /a HTTP/1.0\r\n\r\n")
            data = await client.closed()
            assert data.startswith(b"HTTP/1.1 200 OK\r\n")
            assert b"connection: close\r\n" in data

    async def test_head_has_length_but_no_body(self) -> None:
        """HEAD answers carry Content-Length and no body; the connection goes on."""
        async with raw_server() as server:
            client = await Client.connect(server)
            await client.send(b"HEAD /abc HTTP/1.1\r\nHost: t\r\n\r\n" + get("/next"))
            head = await client.reader.readuntil(b"\r\n\r\n")
            assert b"content-length: 9\r\n" in head  # "HEAD /abc"
            rest = await client.reader.readuntil(b"\r\n\r\n")
            assert rest.startswith(b"HTTP/1.1 200 OK\r\n")
            assert b"GET /next" == await client.reader.readexactly(9)
            await client.close()


class TestBodies:
    async def test_content_length_body_reaches_origin(self) -> None:
        """A Content-Length body is streamed to the origin whole."""
        async with raw_server() as server:
            client = await Client.connect(server)
            await client.send(b"POST /fwd/x HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello")
            await client.send(b" world")
            (response,) = await client.responses(1)
            assert b"POST /fwd/x 11:hello world" == response.body
            await client.close()

    async def test_chunked_body_reaches_origin(self) -> None:
        """A chunked request body arrives at the origin de-chunked and whole."""
        async with raw_server() as server:
            client = await Client.connect(server)
            await client.send(b"POST /fwd/c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            await client.send(b"6\r\n world\r\n0\r\n\r\n" + get("/after"))
            first, second = await client.responses(2)
            assert b"POST /fwd/c 11:hello world" == first.body
            assert b"GET /after" == second.body
            await client.close()

    async def test_large_body_crosses_with_flow_control(self) -> None:
        """A body far above the high-water mark arrives intact (reading pauses and resumes)."""
        payload = random.Random(3).randbytes(300_000)
        async with raw_server(high_water=4096) as server:
            client = await Client.connect(server)
            head = f"PUT /fwd/big HTTP/1.1\r\nHost: t\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
            await client.send(head + payload)
            (response,) = await client.responses(1)
            assert response.body.endswith(payload)
            await client.close()

    async def test_expect_100_continue(self) -> None:
        """``Expect: 100-continue`` gets the interim answer before the client sends the body."""
        async with raw_server() as server:
            client = await Client.connect(server)
            await client.send(b"POST /fwd/e HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
            assert b"HTTP/1.1 100 Continue\r\n\r\n" == await client.reader.readuntil(b"\r\n\r\n")
            await client.send(b"abc")
            (response,) = await client.responses(1)
            assert b"POST /fwd/e 3:abc" == response.body
            await client.close()

    async def test_body_of_a_direct_answer_is_discarded(self) -> None:
        """A body sent to a directly answered path is read and dropped; the next request is intact."""
        async with raw_server() as server:
            client = await Client.connect(server)
            await client.send(b"POST /own HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nGET /" + get("/next"))
            first, second = await client.responses(2)
            assert (b"POST /own", b"GET /next") == (first.body, second.body)
            await client.close()

    async def test_origin_body_of_unknown_length_is_chunked(self) -> None:
        """An origin answer without Content-Length goes out chunked, and keep-alive survives it."""
        async with raw_server() as server:
            client = await Client.connect(server)
            await client.send(get("/fwd/stream") + get("/after"))
            first, second = await client.responses(2)
            assert (True, b"one;two;three") == (first.chunked, first.body)
            assert b"GET /after" == second.body
            await client.close()

    async def test_origin_down_is_502(self) -> None:
        """An unreachable origin is the gateway's 502 page, on a connection that stays usable."""
        async with raw_server() as server:
            client = await Client.connect(server)
            await client.send(get("/fwd/down") + get("/after"))
            assert [502, 200] == await client.status_codes(2)
            await client.close()


class TestBadInput:
    async def test_garbage_is_400_and_closed(self) -> None:
        """A request the parser rejects is answered 400 and the connection closed."""
        async with raw_server() as server:
            client = await Client.connect(server)
            await client.send(b"NOT HTTP AT ALL\r\n\r\n")
            assert (await client.closed()).startswith(b"HTTP/1.1 400 Bad Request\r\n")

    async def test_error_waits_for_earlier_answers(self) -> None:
        """Garbage pipelined behind a slow request is answered 400 only after it."""
        async with raw_server() as server:
            client = await Client.connect(server)
            await client.send(get("/fwd/slow/x") + b"\x00\x01garbage\r\n\r\n")
            data = await client.closed()
            assert data.startswith(b"HTTP/1.1 200 OK\r\n")
            assert data.index(b"GET /fwd/slow/x") < data.index(b"HTTP/1.1 400 Bad Request\r\n")

    @pytest.mark.parametrize(
        "head",
        [
            b"Content-Length: 3\r\nTransfer-Encoding: chunked",
            b"Content-Length: 3\r\nContent-Length: 5",
            b"Transfer-Encoding: chunked, gzip",
        ],
    )
    async def test_ambiguous_body_framing_is_400(self, head: bytes) -> None:
        """Framing that two parsers could read differently (request smuggling) is refused."""
        async with raw_server() as server:
            client = await Client.connect(server)
            await client.send(b"POST /fwd/a HTTP/1.1\r\nHost: t\r\n" + head + b"\r\n\r\n0\r\n\r\nabcde")
            assert (await client.closed()).startswith(b"HTTP/1.1 400 ")
        assert all(r.target != "/fwd/a" for r in UPSTREAM.requests)

    async def test_oversize_headers_are_431(self) -> None:
        """A head above the limit is 431."""
        async with raw_server(max_head_bytes=2048) as server:
            client = await Client.connect(server)
            await client.send(get("/a", "X-Big: " + "x" * 4000))
            assert (await client.closed()).startswith(b"HTTP/1.1 431 ")

    async def test_too_many_headers_are_431(self) -> None:
        """More header lines than allowed is 431."""
        async with raw_server(max_headers=10) as server:
            client = await Client.connect(server)
            await client.send(get("/a", *(f"X-{i}: y" for i in range(20))))
            assert (await client.closed()).startswith(b"HTTP/1.1 431 ")

    async def test_long_url_is_414(self) -> None:
        """A request target above the limit is 414."""
        async with raw_server(max_head_bytes=2048) as server:
            client = await Client.connect(server)
            await client.send(get("/" + "a" * 4000))
            assert (await client.closed()).startswith(b"HTTP/1.1 414 ")

    async def test_path_escapes_decode_as_utf8(self) -> None:
        """``%``-escapes decode as UTF-8, as under uvicorn (room prefixes must match alike)."""
        async with raw_server() as server:
            client = await Client.connect(server)
            await client.send(get("/caf%C3%A9/x%20y"))
            (response,) = await client.responses(1)
            assert "GET /café/x y".encode() == response.body
            await client.close()

    async def test_non_ascii_target_is_400(self) -> None:
        """A raw non-ASCII byte in the request target is refused, as uvicorn does."""
        async with raw_server() as server:
            client = await Client.connect(server)
            await client.send("GET /café HTTP/1.1\r\nHost: t\r\n\r\n".encode())
            assert (await client.closed()).startswith(b"HTTP/1.1 400 ")

    async def test_connect_is_refused(self) -> None:
        """CONNECT is not proxied: 405."""
        async with raw_server() as server:
            client = await Client.connect(server)
            await client.send(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
            assert (await client.closed()).startswith(b"HTTP/1.1 405 ")

    async def test_handler_failure_is_500_and_server_lives(self) -> None:
        """A bug in the handler answers 500 on that connection only."""
        async with raw_server() as server:
            client = await Client.connect(server)
            await client.send(get("/boom"))
            assert (await client.closed()).startswith(b"HTTP/1.1 500 ")
            other = await Client.connect(server)
            await other.send(get("/fine"))
            assert [200] == await other.status_codes(1)
            await other.close()

    async def test_non_websocket_upgrade_is_served_plainly(self) -> None:
        """An ``Upgrade: h2c`` offer is ignored: the request is answered over HTTP/1.1, then closed."""
        async with raw_server() as server:
            client = await Client.connect(server)
            await client.send(get("/a", "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AA"))
            data = await client.closed()
            assert data.startswith(b"HTTP/1.1 200 OK\r\n")
            assert data.endswith(b"GET /a")

    async def test_websocket_without_handler_is_501(self) -> None:
        """Without a WebSocket handler an upgrade is refused with 501."""
        async with raw_server() as server:
            client = await Client.connect(server)
            await client.send(
                get("/ws", "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")
            )  # fmt: skip
            assert (await client.closed()).startswith(b"HTTP/1.1 501 ")

    async def test_random_bytes_never_break_the_server(self) -> None:
        """Random and truncated input on many connections: each ends, and the server still serves."""
        rng = random.Random(11)
        valid = (
            get("/fwd/x") + b"POST /y HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        )
        async with raw_server(keep_alive_timeout=0.2, head_timeout=0.2, body_timeout=0.2) as server:
            for _ in range(60):
                client = await Client.connect(server)
                data = bytearray(valid)
                for _ in range(rng.randrange(1, 6)):
                    data[rng.randrange(len(data))] = rng.randrange(256)
                await client.send(bytes(data[: rng.randrange(1, len(data) + 1)]))
                await client.closed()  # every connection ends: answered, refused or timed out
            client = await Client.connect(server)
            await client.send(get("/still"))
            assert [200] == await client.status_codes(1)
            await client.close()
        assert UPSTREAM.requests  # some of the mutated requests still reached the origin


class TestTimeouts:
    async def test_slow_head_times_out(self) -> None:
        """A head that never completes is cut off (slowloris) with a 408."""
        async with raw_server(head_timeout=0.1) as server:
            client = await Client.connect(server)
            await client.send(b"GET /a HTTP/1.1\r\nHost: t\r\nX-Slow: ")
            assert (await client.closed()).startswith(b"HTTP/1.1 408 ")

    async def test_stalled_body_times_out(self) -> None:
        """A body that stops arriving ends the connection."""
        async with raw_server(body_timeout=0.1) as server:
            client = await Client.connect(server)
            await client.send(b"POST /own HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
            assert b"" == await client.closed()

    async def test_idle_keep_alive_is_closed(self) -> None:
        """An idle keep-alive connection is closed after the keep-alive timeout, without a reply."""
        async with raw_server(keep_alive_timeout=0.1) as server:
            client = await Client.connect(server)
            await client.send(get("/a"))
            assert [200] == await client.status_codes(1)
            assert b"" == await client.closed()

    async def test_shutdown_closes_idle_connections(self) -> None:
        """Stopping the server closes its idle connections."""
        async with raw_server() as server:
            client = await Client.connect(server)
            await client.send(get("/a"))
            assert [200] == await client.status_codes(1)
            await server.aclose(grace=0.5)
            assert b"" == await client.closed()


class TestUvloop:
    def test_serves_on_uvloop(self) -> None:
        """The server runs on uvloop (its transports are not asyncio classes): answers, forwards, pipelines."""

        async def scenario() -> list[bytes]:
            async with raw_server() as server:
                client = await Client.connect(server)
                await client.send(get("/fwd/slow/1") + get("/2"))
                await client.send(
                    b"POST /fwd/3 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
                )
                bodies = [r.body for r in await client.responses(3)]
                await client.close()
                return bodies

        assert [b"GET /fwd/slow/1 0:", b"GET /2", b"POST /fwd/3 2:hi"] == uvloop.run(scenario())


class TestHttp10:
    async def test_unknown_length_body_is_close_delimited(self) -> None:
        """An HTTP/1.0 client gets an origin body of unknown length unchunked, ended by the close."""
        async with raw_server() as server:
            client = await Client.connect(server)
            await client.send(b"GET /fwd/stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            data = await client.closed()
            head, _, body = data.partition(b"\r\n\r\n")
            assert b"transfer-encoding" not in head.lower()
            assert b"connection: close" in head
            assert b"one;two;three" == body
