"""Nothing a visitor sends crashes the gateway: malformed cookies, headers and oversized values."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest

from tests.gateway.harness import HOST, Site
from tests.gateway.test_proxy import cookie_of


async def raw_request(site: Site, head: bytes) -> bytes:
    """Send raw bytes to the gateway and return everything it answers before closing."""
    parts = urlsplit(site.url)
    reader, writer = await asyncio.open_connection("127.0.0.1", parts.port)
    writer.write(head)
    await writer.drain()
    data = await reader.read()
    writer.close()
    return data


BAD_COOKIES = [
    "__cfwaitingroom=",
    "__cfwaitingroom=" + "A" * 83,
    "__cfwaitingroom=" + "+/" * 41 + "A",
    "__cfwaitingroom=" + "x" * 4000,
    "__cfwaitingroom=%00%ff; __cfwaitingroom=second",
    "=;;;==;__cfwaitingroom",
    '__cfwaitingroom="quoted"',
    "__antechamber_lang=../../etc/passwd",
]


class TestMalformedInput:
    @pytest.mark.parametrize("cookie", BAD_COOKIES)
    async def test_bad_cookie_is_a_new_user(self, site: Site, cookie: str) -> None:
        """A cookie that does not open is treated as a new user, never as an error."""
        await site.add_room(total_active_users=5, new_users_per_minute=60)
        async with site.visitor(cookie=cookie) as visitor:
            response = await visitor.get("/")
        assert 200 == response.status_code and cookie_of(response) is not None

    async def test_cookie_from_another_room_is_worthless(self, site: Site) -> None:
        """A valid cookie of one room opens to nothing in another room with the same cookie name."""
        await site.add_room(name="a", total_active_users=1, new_users_per_minute=60, path="/a")
        await site.add_room(name="b", total_active_users=1, new_users_per_minute=60, path="/b")
        async with site.visitor() as holder_b:
            await holder_b.get("/b")
        async with site.visitor() as visitor:
            await visitor.get("/a")
            response = await visitor.get("/b")  # carries room a's cookie under the same name
        assert "refresh" in response.headers  # queued as a new user in room b

    @pytest.mark.parametrize(
        "headers",
        [
            {"x-forwarded-proto": "gopher, https"},
            {"x-forwarded-for": "not-an-ip, ::::"},
            {"host": "[::1"},
            {"host": HOST + ":notaport"},
            {"accept-language": "x" * 6000},
        ],
    )
    async def test_odd_headers(self, site: Site, headers: dict[str, str]) -> None:
        """Odd header values are tolerated (the request is answered, not failed)."""
        await site.add_room(total_active_users=5, new_users_per_minute=60)
        async with site.visitor(**headers) as visitor:
            response = await visitor.get("/")
        assert response.status_code in (200, 502)

    async def test_huge_and_odd_query_strings(self, site: Site) -> None:
        """A huge or undecodable query string, or a bogus lang, still gets the queue page."""
        await site.add_room(total_active_users=1, new_users_per_minute=60)
        async with site.visitor() as holder:
            await holder.get("/")
        async with site.visitor() as visitor:
            for query in ("lang=" + "a" * 9000, "lang=%ff%fe", "lang=<script>", "lang&lang=&=&"):
                response = await visitor.get("/?" + query)
                assert 200 == response.status_code and 'lang="en-US"' in response.text

    async def test_non_ascii_header_bytes(self, site: Site) -> None:
        """Raw latin-1 bytes in Host and Cookie headers are handled."""
        await site.add_room(total_active_users=5, new_users_per_minute=60)
        head = (
            b"GET / HTTP/1.1\r\nHost: shop.example.com\r\nCookie: __cfwaitingroom=\xff\xfe\r\n"
            b"X-Forwarded-Host: \xe9\r\nConnection: close\r\n\r\n"
        )
        answer = await raw_request(site, head)
        assert answer.startswith(b"HTTP/1.1 200")

    async def test_http10_without_host(self, site: Site) -> None:
        """An HTTP/1.0 request without Host is routed by the server address (uncovered here) and answered."""
        await site.add_room(total_active_users=5, new_users_per_minute=60)
        answer = await raw_request(site, b"GET / HTTP/1.0\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200")

    async def test_forward_auth_with_garbage(self, site: Site) -> None:
        """Forward-auth with missing or garbage description headers still answers."""
        await site.add_room(total_active_users=5, new_users_per_minute=60)
        async with site.visitor() as visitor:
            bare = await visitor.get("/.antechamber/auth")
            garbage = await visitor.get(
                "/.antechamber/page",
                headers={"x-forwarded-uri": b"no-slash?\xff", "x-antechamber-set-cookie": "x" * 9000},
            )
        assert 200 == bare.status_code  # described by its own Host: shop.example.com, path /
        assert garbage.status_code in (200, 303)
