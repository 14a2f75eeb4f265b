"""The pooled client against a real nginx: static files, and nginx proxying to a scripted origin."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from antechamber.gateway.upstream import Origin, UpstreamPool
from tests.gateway.upstream.origin_server import OriginServer, ServerConn
from tests.services import free_port, require_binary, wait_for_port

pytestmark = pytest.mark.nginx

CONF = """
daemon off;
worker_processes 1;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    default_type application/octet-stream;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 10000;
    client_max_body_size 0;
    upstream scripted {{ server 127.0.0.1:{origin_port}; keepalive 4; }}
    server {{
        listen 127.0.0.1:{port};
        root {tmp}/www;
        location /static/ {{ add_header X-Conn $connection; }}
        location /proxy/ {{
            proxy_pass http://scripted/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_request_buffering off;
        }}
    }}
}}
"""


@dataclass
class Nginx:
    origin: Origin
    backend_port: int
    big: bytes


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    """nginx on a free loopback port serving tmp/www/static and proxying /proxy/ to ``backend_port``."""
    binary = require_binary("nginx", "/usr/sbin")
    tmp = tmp_path_factory.mktemp("nginx")
    (tmp / "www" / "static").mkdir(parents=True)
    big = os.urandom(3 * 1024 * 1024)
    (tmp / "www" / "static" / "big.bin").write_bytes(big)
    (tmp / "www" / "static" / "small.txt").write_bytes(b"hello from nginx\n")
    port, backend_port = free_port(), free_port()
    # Workers run as "nobody" unless told otherwise, and could not read a root-owned tmp dir.
    user = "user root;" if os.geteuid() == 0 else ""
    conf = tmp / "nginx.conf"
    conf.write_text(CONF.format(tmp=tmp, port=port, origin_port=backend_port, user=user))
    proc = subprocess.Popen([binary, "-p", str(tmp), "-c", str(conf)], stderr=subprocess.PIPE)
    try:
        wait_for_port("127.0.0.1", port)
        yield Nginx(Origin("http", "127.0.0.1", port), backend_port, big)
    finally:
        proc.terminate()
        proc.wait(10)
        assert proc.stderr is not None
        proc.stderr.close()


async def test_static_files_with_keepalive(nginx: Nginx, pool: UpstreamPool) -> None:
    """Static files come back intact over one reused connection, including a 3 MB one."""
    conns = set()
    for path, expected in [("/static/small.txt", b"hello from nginx\n"), ("/static/big.bin", nginx.big)] * 3:
        resp = await pool.request("GET", path, [(b"Host", b"localhost")], None, origin=nginx.origin)
        assert (200, expected) == (resp.status, await resp.read())
        conns.add(dict(resp.headers)[b"X-Conn"])
        await resp.aclose()
    assert 1 == len(conns)


async def test_head_and_conditional_get(nginx: Nginx, pool: UpstreamPool) -> None:
    """HEAD and a 304 from nginx carry no body and leave the connection usable."""
    resp = await pool.request("HEAD", "/static/big.bin", [], None, origin=nginx.origin)
    headers = dict(resp.headers)
    assert (200, b"", str(len(nginx.big)).encode()) == (resp.status, await resp.read(), headers[b"Content-Length"])
    await resp.aclose()
    resp = await pool.request(
        "GET", "/static/big.bin", [(b"If-None-Match", headers[b"ETag"])], None, origin=nginx.origin
    )
    assert (304, b"") == (resp.status, await resp.read())
    await resp.aclose()
    resp = await pool.request("GET", "/static/small.txt", [], None, origin=nginx.origin)
    assert b"hello from nginx\n" == await resp.read()
    await resp.aclose()
    assert (1, 1) == pool.connections(nginx.origin)


async def test_not_found(nginx: Nginx, pool: UpstreamPool) -> None:
    """An nginx error page is an ordinary response."""
    resp = await pool.request("GET", "/static/missing", [], None, origin=nginx.origin)
    assert 404 == resp.status
    assert b"404" in await resp.read()
    await resp.aclose()


async def test_proxied_streams_both_ways(nginx: Nginx, pool: UpstreamPool) -> None:
    """Through nginx proxy_pass, a chunked upload reaches the origin and its chunked answer streams back."""
    upload = os.urandom(2 * 1024 * 1024)

    async def origin(conn: ServerConn) -> None:
        while (req := await conn.read_request()) is not None:
            digest = hashlib.sha256(req.body).hexdigest().encode()
            await conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for part in (digest, b" ", str(len(req.body)).encode()):
                await conn.send(b"%x\r\n%s\r\n" % (len(part), part))
            await conn.send(b"0\r\n\r\n")

    async def body() -> AsyncIterator[bytes]:
        for i in range(0, len(upload), 100_000):
            yield upload[i : i + 100_000]

    async with OriginServer(origin, port=nginx.backend_port):
        resp = await pool.request("POST", "/proxy/echo", [], body(), origin=nginx.origin)
        expected = b"%s %d" % (hashlib.sha256(upload).hexdigest().encode(), len(upload))
        assert (200, expected) == (resp.status, await resp.read())
        await resp.aclose()
