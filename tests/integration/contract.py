"""What a visitor sees through a proxy in forward-auth mode, whichever proxy it is.

``test_nginx_forward_auth.py``, ``test_caddy_forward_auth.py`` and ``test_traefik_forward_auth.py`` subclass
:class:`ForwardAuthContract` with a module-scoped ``stack`` fixture: the documented proxy
configuration in front of a real origin and the gateway with one room.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.integration.support import HOST, SMALL_ROOM, GatewayServer, Origin, run_gateway, run_origin

#: Starts a proxy: (its work dir, the gateway's port, the origin's port) -> its port.
ProxyRunner = Callable[[Path, int, int], contextlib.AbstractContextManager[int]]

ROOM_COOKIE = "__cfwaitingroom"
SMALL_ROOM_COOKIE = f"__cfwaitingroom_{SMALL_ROOM['cookie_suffix']}"


@dataclass
class Site:
    """The running stack: the origin, the gateway and the proxy's base URL."""

    origin: Origin
    gateway: GatewayServer
    url: str

    def visit(
        self, path: str = "/", *, cookie: str | None = None, method: str = "GET", body: bytes | None = None
    ) -> httpx.Response:
        """One request as a browser would send it to the site."""
        headers = {"Host": HOST, "Accept": "text/html"}
        if cookie is not None:
            headers["Cookie"] = cookie
        return httpx.request(method, self.url + path, headers=headers, content=body, timeout=10)


@contextlib.contextmanager
def run_site(workdir: Path, run_proxy: ProxyRunner) -> Iterator[Site]:
    """Origin, gateway (main room with revoke, two-user room) and the proxy in front, all stopped after."""
    with (
        run_origin() as origin,
        run_gateway(
            workdir / "gateway",
            f"http://127.0.0.1:{origin.port}",
            extra_rooms=[SMALL_ROOM],
            enabled_origin_commands=["revoke"],
        ) as gw,
        run_proxy(workdir / "proxy", gw.port, origin.port) as port,
    ):
        yield Site(origin, gw, f"http://127.0.0.1:{port}")


def room_cookie(response: httpx.Response, name: str = ROOM_COOKIE) -> str | None:
    """The room cookie a response sets, as ``name=value`` for the next request's ``Cookie``."""
    for value in response.headers.get_list("set-cookie"):
        if value.startswith(name + "="):
            return value.split(";", 1)[0]
    return None


def assert_sane_set_cookies(response: httpx.Response) -> None:
    """No empty or unexpanded ``Set-Cookie`` lines (a proxy copying a header the gateway did not send)."""
    for value in response.headers.get_list("set-cookie"):
        assert "=" in value and "{" not in value, value


def assert_origin_page(response: httpx.Response, path: str) -> None:
    """The response is the origin's own answer for ``path``."""
    assert 200 == response.status_code, response.text[:500]
    assert {"origin": "hello", "path": path} == {k: v for k, v in response.json().items() if k in ("origin", "path")}
    assert any(v.startswith("app_session=") for v in response.headers.get_list("set-cookie"))


def assert_queue_page(response: httpx.Response, status: int) -> None:
    """The response is Antechamber's queue page, never cached, asking for a refresh."""
    assert status == response.status_code, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert "no-store" in response.headers["cache-control"]
    assert "refresh" in response.headers
    assert "<html" in response.text.lower()
    assert '"origin": "hello"' not in response.text


class ForwardAuthContract:
    """Behaviour every documented proxy configuration must show; each module provides ``stack``."""

    @pytest.fixture
    def site(self, stack: Site) -> Site:
        """The stack with the room open again and the origin's record cleared."""
        stack.gateway.update_room(queue_all=False)
        stack.origin.seen.clear()
        return stack

    #: The status of the queue page through this proxy.
    queued_status: int

    def test_challenge_endpoints_reach_the_gateway(self, site: Site) -> None:
        """The queue page's challenge (script, challenges, answers) is routed to the gateway, not the origin."""
        script = site.visit("/.antechamber/challenge/altcha.i18n.min.js")
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
        refused = site.visit(f"/.antechamber/challenge?room={site.gateway.room_id}")  # no room cookie
        assert refused.status_code == 403 and "no waiting room cookie" in refused.text
        cookie = room_cookie(site.visit("/"))
        assert cookie is not None
        challenge = site.visit(f"/.antechamber/challenge?room={site.gateway.room_id}", cookie=cookie)
        assert challenge.status_code == 200 and "signature" in challenge.json()
        assert not any(seen.startswith("/.antechamber") for seen in site.origin.paths)

    def test_new_visitor_is_admitted_with_cookie(self, site: Site) -> None:
        """While the room has room, a first visit reaches the origin and gets the room cookie."""
        response = site.visit("/products?id=7")
        assert_origin_page(response, "/products?id=7")
        assert room_cookie(response) is not None
        [set_cookie] = [v for v in response.headers.get_list("set-cookie") if v.startswith(ROOM_COOKIE + "=")]
        assert "httponly" in set_cookie.lower() and "path=/" in set_cookie.lower()
        assert ["/products?id=7"] == site.origin.paths

    def test_room_at_capacity_queues_next_visitor(self, site: Site) -> None:
        """In a room for two active users, two newcomers get in, the third is queued, the first two keep passing."""
        first, second, third = (site.visit(f"/tickets/{n}") for n in (1, 2, 3))
        assert_origin_page(first, "/tickets/1")
        assert_origin_page(second, "/tickets/2")
        assert_queue_page(third, self.queued_status)
        assert room_cookie(third, SMALL_ROOM_COOKIE) is not None
        for response, path in ((first, "/tickets/1/seat"), (second, "/tickets/2/seat")):
            cookie = room_cookie(response, SMALL_ROOM_COOKIE)
            assert cookie is not None
            assert_origin_page(site.visit(path, cookie=cookie), path)
        assert ["/tickets/1", "/tickets/2", "/tickets/1/seat", "/tickets/2/seat"] == site.origin.paths

    def test_admitted_visitor_keeps_getting_through(self, site: Site) -> None:
        """An admitted visitor's later requests reach the origin, with no stray Set-Cookie lines."""
        cookie = room_cookie(site.visit("/"))
        assert cookie is not None
        for path in ("/a", "/b?x=1", "/c"):
            response = site.visit(path, cookie=cookie)
            assert_origin_page(response, path)
            assert_sane_set_cookies(response)
            cookie = room_cookie(response) or cookie
        assert ["/", "/a", "/b?x=1", "/c"] == site.origin.paths, site.origin.paths

    def test_full_room_queues_new_visitor_with_cookie(self, site: Site) -> None:
        """Once the room queues everyone new, a first visit gets the queue page and a cookie, not the origin."""
        site.gateway.update_room(queue_all=True)
        response = site.visit("/checkout")
        assert_queue_page(response, self.queued_status)
        assert room_cookie(response) is not None
        assert_sane_set_cookies(response)
        assert [] == site.origin.paths

    def test_admitted_visitor_passes_while_others_queue(self, site: Site) -> None:
        """A visitor admitted before the room filled up keeps reaching the origin; a newcomer is queued."""
        cookie = room_cookie(site.visit("/"))
        assert cookie is not None
        site.gateway.update_room(queue_all=True)
        assert_origin_page(site.visit("/cart", cookie=cookie), "/cart")
        assert_queue_page(site.visit("/cart"), self.queued_status)
        assert ["/", "/cart"] == site.origin.paths

    def test_queued_visitor_refresh_stays_queued(self, site: Site) -> None:
        """A queued visitor refreshing with its cookie sees the queue page again and never the origin."""
        site.gateway.update_room(queue_all=True)
        first = site.visit("/")
        cookie = room_cookie(first)
        assert cookie is not None
        again = site.visit("/", cookie=cookie)
        assert_queue_page(again, self.queued_status)
        assert_sane_set_cookies(again)
        assert [] == site.origin.paths

    def test_each_visitor_is_counted_once(self, site: Site) -> None:
        """Through the proxy a newcomer takes one place (queued) or one slot (admitted); its next request adds none."""
        active, waiting = site.gateway.counters()
        admitted = room_cookie(site.visit("/"))
        assert (active + 1, waiting) == site.gateway.counters_reach((active + 1, waiting))
        site.visit("/again", cookie=admitted)
        site.gateway.update_room(queue_all=True)
        queued = room_cookie(site.visit("/"))
        assert (active + 1, waiting + 1) == site.gateway.counters_reach((active + 1, waiting + 1))
        site.visit("/", cookie=queued)
        assert (active + 1, waiting + 1) == site.gateway.counters()

    def test_queued_post_does_not_reach_origin(self, site: Site) -> None:
        """A queued visitor's POST gets the queue page; neither the request nor its body reaches the origin."""
        site.gateway.update_room(queue_all=True)
        response = site.visit("/order", method="POST", body=b"item=42")
        assert_queue_page(response, self.queued_status)
        assert [] == site.origin.paths

    def test_admitted_post_reaches_origin_with_body(self, site: Site) -> None:
        """An admitted visitor's POST reaches the origin with its method and body intact."""
        cookie = room_cookie(site.visit("/"))
        assert cookie is not None
        response = site.visit("/order", cookie=cookie, method="POST", body=b"item=42")
        assert 200 == response.status_code
        assert {"method": "POST", "body": "item=42"} == {k: response.json()[k] for k in ("method", "body")}

    def test_origin_revokes_session(self, site: Site) -> None:
        """The origin's revoke call ends the session and answers with a cookie-clearing Set-Cookie."""
        cookie = room_cookie(site.visit("/"))
        assert cookie is not None
        revoked = httpx.post(
            site.gateway.url + "/.antechamber/revoke",
            headers={"Cookie": cookie, "X-Forwarded-Host": HOST, "X-Forwarded-Uri": "/"},
            timeout=10,
        )
        assert 200 == revoked.status_code, revoked.text
        assert {"revoked": True} == json.loads(revoked.text)
        [clear] = [v for v in revoked.headers.get_list("set-cookie") if v.startswith(ROOM_COOKIE + "=")]
        assert "max-age=0" in clear.lower()
