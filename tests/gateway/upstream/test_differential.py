"""Differential: the pooled client and httpx read the same origin bytes the same way."""

from __future__ import annotations

import httpx
import pytest

from antechamber.gateway.upstream import UpstreamPool, strip_hop_by_hop
from tests.gateway.upstream.origin_server import OriginServer, ServerConn

REPLIES = {
    "content-length": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
    "chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    + b"".join(b"1\r\n%c\r\n" % c for c in b"many small")
    + b"0\r\n\r\n",
    "http/1.0 close": b"HTTP/1.0 200 OK\r\nX-Old: yes\r\n\r\nread until close",
    "204": b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
    "304": b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 99\r\n\r\n',
    "cookies and case": b"HTTP/1.1 302 Found\r\nLOCATION: /x\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n"
    b"Content-Length: 0\r\n\r\n",
    "connection-named": b"HTTP/1.1 200 OK\r\nConnection: X-Hop\r\nX-Hop: 1\r\nX-Kept: 2\r\nContent-Length: 2\r\n\r\nok",
    "empty reason": b"HTTP/1.1 404 \r\nContent-Length: 3\r\n\r\nnah",
}


async def _origin(conn: ServerConn) -> None:
    req = await conn.read_request()
    assert req is not None
    await conn.send(REPLIES[req.target.lstrip("/").replace("%20", " ")])
    conn.close()  # one exchange per connection, so close-delimited replies work for both clients


# A close-delimited reply to HEAD is ambiguous (is the rest a body?), so that pair is left out.
CASES = [
    (case, method)
    for case in sorted(REPLIES)
    for method in ("GET", "HEAD")
    if (case, method) != ("http/1.0 close", "HEAD")
]


@pytest.mark.parametrize(("case", "method"), CASES)
async def test_same_reading_as_httpx(pool: UpstreamPool, case: str, method: str) -> None:
    """Status, end-to-end headers (raw case, order) and body match what httpx reads from the same bytes."""
    target = "/" + case.replace(" ", "%20")
    async with OriginServer(_origin) as srv:
        resp = await pool.request(method, target, [], None, origin=srv.origin)
        ours = (resp.status, resp.headers, await resp.read())
        await resp.aclose()
        async with httpx.AsyncClient() as client:
            ref = await client.request(method, f"http://127.0.0.1:{srv.port}{target}")
        theirs = (ref.status_code, strip_hop_by_hop(ref.headers.raw), ref.content)
    assert theirs == ours
