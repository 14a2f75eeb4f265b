"""WebSocket upgrades through the gateway: only a valid session passes; frames flow both ways."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.gateway.harness import HOST, Site


def _socket(site: Site) -> socket.socket:
    parts = urlsplit(site.url)
    assert parts.port is not None
    return socket.create_connection(("127.0.0.1", parts.port))


def open_ws(site: Site, path: str, cookie: str | None = None, host: str = HOST) -> connect:
    """A WebSocket client for ``host`` (the URI names the host; the socket goes to the gateway)."""
    headers = {"cookie": f"__cfwaitingroom={cookie}"} if cookie else {}
    return connect(f"ws://{host}{path}", sock=_socket(site), additional_headers=headers, open_timeout=5)


async def admitted_cookie(site: Site) -> str:
    """Admit a visitor over HTTP and return its session cookie value."""
    async with site.visitor() as visitor:
        await visitor.get("/")
        return visitor.cookies["__cfwaitingroom"]


class TestWebSocket:
    async def test_session_passes_and_echoes(self, site: Site) -> None:
        """With a valid session the upgrade reaches the origin; text and bytes cross both ways."""
        await site.add_room(total_active_users=5, new_users_per_minute=60)
        cookie = await admitted_cookie(site)
        async with open_ws(site, "/ws", cookie) as ws:
            await ws.send("hello")
            assert "echo:hello" == await ws.recv()
            await ws.send(b"\x00\x01")
            assert b"echo:\x00\x01" == await ws.recv()
        assert any(entry.get("websocket") for entry in site.origin_log)

    async def test_renewed_session_cookie_rides_on_the_handshake(self, site: Site) -> None:
        """When the upgrade renews the session, the new cookie comes with the 101 response."""
        await site.add_room(total_active_users=5, new_users_per_minute=60)
        cookie = await admitted_cookie(site)
        site.clock.advance(30)
        async with open_ws(site, "/ws", cookie) as ws:
            assert ws.response is not None
            renewed = ws.response.headers.get("set-cookie", "")
        assert renewed.startswith("__cfwaitingroom=") and "Max-Age=300" in renewed

    async def test_large_message_crosses_intact(self, site: Site) -> None:
        """A message bigger than one read buffer arrives whole in both directions."""
        await site.add_room(total_active_users=5, new_users_per_minute=60)
        cookie = await admitted_cookie(site)
        payload = "x" * 300_000
        async with open_ws(site, "/ws", cookie) as ws:
            await ws.send(payload)
            assert "echo:" + payload == await ws.recv()

    async def test_origin_close_code_reaches_visitor(self, site: Site) -> None:
        """When the origin closes with a code, the visitor sees that code."""
        await site.add_room(total_active_users=5, new_users_per_minute=60)
        cookie = await admitted_cookie(site)
        async with open_ws(site, "/ws", cookie) as ws:
            await ws.send("close")
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None and 4000 == closed.value.rcvd.code

    async def test_no_session_is_refused_with_queue_response(self, site: Site) -> None:
        """Without a session the upgrade is answered with the queue response, never reaching the origin."""
        await site.add_room(total_active_users=5, new_users_per_minute=60, queueing_status_code=429)
        with pytest.raises(InvalidStatus) as refused:
            async with open_ws(site, "/ws"):
                pass
        response = refused.value.response
        assert 429 == response.status_code and "no-store" == response.headers["cache-control"]
        assert not site.origin_log

    async def test_forged_cookie_is_refused(self, site: Site) -> None:
        """A cookie that does not open is no session."""
        await site.add_room(total_active_users=5, new_users_per_minute=60)
        with pytest.raises(InvalidStatus):
            async with open_ws(site, "/ws", "A" * 83):
                pass

    async def test_uncovered_path_passes(self, site: Site) -> None:
        """A WebSocket on a path no room covers is bridged without any session."""
        await site.add_room(total_active_users=5, new_users_per_minute=60, path="/shop")
        async with open_ws(site, "/live") as ws:
            await ws.send("hi")
            assert "echo:hi" == await ws.recv()
