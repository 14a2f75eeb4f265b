"""The reverse proxy over real HTTP: admission, streaming, headers, origin commands, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from antechamber.core.types import MINUTE_MS
from antechamber.gateway.offline import asgi_scope
from tests.gateway.harness import HOST, Site, running_site


def cookie_of(response: httpx.Response, name: str = "__cfwaitingroom") -> str | None:
    """The ``Set-Cookie`` line for ``name`` in a response, if any."""
    return next((c for c in response.headers.get_list("set-cookie") if c.startswith(name + "=")), None)


def _scope_of(visitor: httpx.AsyncClient) -> dict[str, Any]:
    """The scope of the visitor's next request to ``/``, with the Cookie header its jar sends."""
    return asgi_scope(HOST, "/", cookie=f"__cfwaitingroom={visitor.cookies['__cfwaitingroom']}")


class TestAdmitted:
    async def test_first_visitor_reaches_origin_with_cookie(self, site: Site) -> None:
        """A visitor with room to spare goes straight to the origin and gets a session cookie."""
        await site.add_room(total_active_users=5, new_users_per_minute=60)
        async with site.visitor() as visitor:
            response = await visitor.get("/products?id=3")
        assert 200 == response.status_code
        echoed = response.json()
        assert ("/products", "id=3") == (echoed["path"], echoed["query"])
        cookie = cookie_of(response)
        assert cookie is not None
        assert f"Max-Age={5 * MINUTE_MS // 1000}" in cookie and "HttpOnly" in cookie and "Path=/" in cookie

    async def test_cookie_resent_only_when_ticket_changes(self, site: Site) -> None:
        """An admitted visitor's next request within the renewal step gets no new cookie; later it does."""
        await site.add_room(total_active_users=5, new_users_per_minute=60)
        async with site.visitor() as visitor:
            await visitor.get("/")
            same = await visitor.get("/")
            site.clock.advance(30)
            renewed = await visitor.get("/")
        assert cookie_of(same) is None
        assert cookie_of(renewed) is not None

    async def test_uncovered_traffic_goes_straight_to_origin(self, site: Site) -> None:
        """A host or path no room covers is proxied untouched: no cookie, not counted."""
        await site.add_room(total_active_users=1, new_users_per_minute=60, path="/shop")
        async with site.visitor() as visitor:
            outside = await visitor.get("/about")
        async with site.visitor(host="www.example.org") as other:
            other_host = await other.get("/shop")
        assert (200, 200) == (outside.status_code, other_host.status_code)
        assert cookie_of(outside) is None and cookie_of(other_host) is None

    async def test_forwarded_headers(self, site: Site) -> None:
        """The origin sees X-Forwarded-For/Proto/Host and the visitor's Host."""
        await site.add_room(total_active_users=5, new_users_per_minute=60)
        async with site.visitor() as visitor:
            headers = (await visitor.get("/")).json()["headers"]
        assert HOST == headers["host"] == headers["x-forwarded-host"]
        assert "127.0.0.1" == headers["x-forwarded-for"]
        assert "http" == headers["x-forwarded-proto"]

    async def test_post_body_and_streamed_response(self, site: Site) -> None:
        """Request bodies reach the origin and streamed responses reach the visitor whole."""
        await site.add_room(total_active_users=5, new_users_per_minute=60)
        async with site.visitor() as visitor:
            posted = await visitor.post("/form", content=b"a=1&b=2")
            streamed = await visitor.get("/stream")
        assert "a=1&b=2" == posted.json()["body"]
        assert "chunk0;chunk1;chunk2;chunk3;chunk4;" == streamed.text

    async def test_keep_alive_pool_reuses_connections(self, site: Site) -> None:
        """Successive proxied requests reuse a pooled origin connection."""
        await site.add_room(total_active_users=5, new_users_per_minute=60)
        async with site.visitor() as visitor:
            for _ in range(3):
                await visitor.get("/")
        pool = site.gateway.upstream
        origin = site.gateway.origin_for(HOST)
        assert origin is not None
        assert (1, 1) == pool.connections(origin)  # type: ignore[attr-defined]


class TestRouting:
    async def test_longest_path_wins_and_host_is_case_insensitive(self, site: Site) -> None:
        """/shop/vip belongs to its own room even though /shop covers it; Host case and port do not matter."""
        await site.add_room(name="shop", total_active_users=5, new_users_per_minute=60, path="/shop")
        await site.add_room(
            name="vip", total_active_users=5, new_users_per_minute=60, path="/shop/vip", cookie_suffix="vip"
        )
        async with site.visitor(host="SHOP.Example.com:8080") as visitor:
            vip = await visitor.get("/shop/vip/x")
            shop = await visitor.get("/shopping")
        assert cookie_of(vip, "__cfwaitingroom_vip") is not None
        assert cookie_of(shop) is not None

    async def test_additional_routes_share_the_cookie(self, site: Site) -> None:
        """A session from the primary route is valid on an additional route (one cookie, one count)."""
        await site.add_room(
            total_active_users=1,
            new_users_per_minute=60,
            path="/shop",
            cookie_suffix="s",
            additional_routes=[{"host": HOST, "path": "/checkout"}],
        )
        async with site.visitor() as visitor:
            first = await visitor.get("/shop")
            second = await visitor.get("/checkout")
        async with site.visitor() as stranger:
            queued = await stranger.get("/checkout")
        assert (200, 200) == (first.status_code, second.status_code)
        assert "path" in second.json()
        assert "text/html; charset=utf-8" == queued.headers["content-type"]  # the queue page

    async def test_origins_per_host(self, tmp_path: Path, gateway_server: str) -> None:
        """A host mapped to its own origin goes there; other hosts use the default origin."""
        async with running_site(tmp_path, origin_url="http://127.0.0.1:9", server=gateway_server) as site:
            gateway = site.gateway
            from antechamber.gateway.upstream import Origin

            gateway._origins["shop.example.com"] = Origin.parse(site.origin_url)
            async with site.visitor() as visitor:
                mapped = await visitor.get("/")
            async with site.visitor(host="other.example.com") as other:
                unmapped = await other.get("/")
        assert 200 == mapped.status_code
        assert 502 == unmapped.status_code


class TestOriginCommands:
    async def test_command_header_always_stripped(self, site: Site) -> None:
        """Cf-Waiting-Room-Command never reaches the visitor, whatever its value or the room's settings."""
        await site.add_room(total_active_users=5, new_users_per_minute=60)
        async with site.visitor() as visitor:
            await visitor.get("/")
            other = await visitor.get("/command")
            revoke = await visitor.get("/revoke")
        for response in (other, revoke):
            assert "cf-waiting-room-command" not in response.headers
        assert cookie_of(revoke) is None  # revoke is not enabled: the session stays

    async def test_revoke_ends_the_session(self, site: Site) -> None:
        """With revoke enabled the session ends: active drops, the cookie is cleared, the next request is new."""
        room_id = await site.add_room(total_active_users=1, new_users_per_minute=60, enabled_origin_commands=["revoke"])
        async with site.visitor() as visitor:
            await visitor.get("/")
            assert 1 == site.state.snapshot(room_id, site.clock()).active
            revoked = await visitor.get("/revoke")
            assert 0 == site.state.snapshot(room_id, site.clock()).active
            cleared = cookie_of(revoked)
            assert cleared is not None and cleared.startswith("__cfwaitingroom=;") and "Max-Age=0" in cleared
            assert "__cfwaitingroom" not in visitor.cookies
            again = await visitor.get("/")
        assert cookie_of(again) is not None  # a new user, admitted again into the freed slot
        assert 1 == site.state.snapshot(room_id, site.clock()).active

    async def test_revoke_ends_a_session_let_through_undecided(self, site: Site) -> None:
        """A session's unchanged requests go on undecided; the origin's revoke on one of them still ends it."""
        room_id = await site.add_room(total_active_users=1, new_users_per_minute=60, enabled_origin_commands=["revoke"])
        async with site.visitor() as visitor:
            for _ in range(3):  # admitted, then ordinary requests: the later ones go on undecided
                assert 200 == (await visitor.get("/")).status_code
            assert site.gateway.untouched_room(_scope_of(visitor)) is not None
            revoked = await visitor.get("/revoke")
        cleared = cookie_of(revoked)
        assert cleared is not None and "Max-Age=0" in cleared and "cf-waiting-room-command" not in revoked.headers
        assert 0 == site.state.snapshot(room_id, site.clock()).active

    async def test_revoke_frees_the_slot_for_the_queue(self, site: Site) -> None:
        """After a revoke, the first queued visitor gets in at the next counted refresh."""
        await site.add_room(total_active_users=1, new_users_per_minute=60, enabled_origin_commands=["revoke"])
        async with site.visitor() as first, site.visitor() as second:
            await first.get("/")
            assert "refresh" in (await second.get("/")).headers
            await first.get("/revoke")
            site.clock.advance(20)
            admitted = await second.get("/")
        assert "path" in admitted.json()


class TestOriginErrors:
    async def test_unreachable_origin_is_502(self, tmp_path: Path, gateway_server: str) -> None:
        """An origin that refuses connections gives a clear 502 page."""
        async with running_site(tmp_path, origin_url="http://127.0.0.1:9", server=gateway_server) as site:
            await site.add_room(total_active_users=5, new_users_per_minute=60)
            async with site.visitor() as visitor:
                response = await visitor.get("/")
        assert 502 == response.status_code
        assert "Bad gateway" in response.text and "no-store" == response.headers["cache-control"]

    async def test_slow_origin_is_504(self, tmp_path: Path, gateway_server: str) -> None:
        """An origin that does not answer within the read timeout gives a 504 page."""
        async with running_site(tmp_path, read_timeout=0.2, server=gateway_server) as site:
            async with site.visitor() as visitor:
                response = await visitor.get("/slow")
        assert 504 == response.status_code
        assert "Gateway timeout" in response.text

    async def test_gateway_paths_are_never_proxied(self, site: Site) -> None:
        """Unknown /.antechamber/ paths are answered by the gateway (404), not the origin."""
        async with site.visitor() as visitor:
            response = await visitor.get("/.antechamber/anything")
        assert 404 == response.status_code
        assert not any(entry["path"].startswith("/.antechamber") for entry in site.origin_log)

    async def test_health(self, site: Site) -> None:
        """The health endpoint answers ok."""
        async with site.visitor() as visitor:
            assert "ok\n" == (await visitor.get("/.antechamber/health")).text
