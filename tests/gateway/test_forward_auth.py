"""The forward-auth endpoints over real HTTP, as Caddy, Traefik and nginx call them."""

from __future__ import annotations

import httpx

from tests.gateway.harness import HOST, Site
from tests.gateway.test_proxy import cookie_of


def described(uri: str = "/", *, proto: str = "https", **extra: str) -> dict[str, str]:
    """The headers a proxy sends to describe the visitor's original request."""
    return {
        "x-forwarded-method": "GET",
        "x-forwarded-proto": proto,
        "x-forwarded-host": HOST,
        "x-forwarded-uri": uri,
        **extra,
    }


async def auth(visitor: httpx.AsyncClient, path: str = "/.antechamber/auth", **extra: str) -> httpx.Response:
    """One forward-auth call for ``visitor`` (its cookie jar carries the room cookie)."""
    return await visitor.get(path, headers=described(**extra))


class TestCaddyTraefik:
    async def test_admitted_is_200_with_cookie(self, site: Site) -> None:
        """A visitor with room to spare is allowed (200) and given the session cookie, which keeps it allowed."""
        await site.add_room(total_active_users=1, new_users_per_minute=60)
        async with site.visitor() as visitor:
            response = await auth(visitor, proto="http")
            again = await auth(visitor, proto="http")
        assert (200, 200) == (response.status_code, again.status_code)
        assert cookie_of(response) is not None
        assert not site.origin_log  # the gateway never proxies in this mode

    async def test_forwarded_https_makes_secure_cookie(self, site: Site) -> None:
        """X-Forwarded-Proto: https from a trusted proxy makes the auth answer's cookie Secure."""
        await site.add_room(total_active_users=1, new_users_per_minute=60)
        async with site.visitor() as visitor:
            cookie = cookie_of(await auth(visitor))
        assert cookie is not None and "; Secure" in cookie

    async def test_queued_is_429_with_page_and_cookie(self, site: Site) -> None:
        """A queued visitor gets the queue page with 429 even when the room's status code is 200."""
        await site.add_room(total_active_users=1, new_users_per_minute=60)
        async with site.visitor() as first, site.visitor() as second:
            await auth(first)
            queued = await auth(second)
        assert 429 == queued.status_code and "20" == queued.headers["retry-after"]
        assert "<html" in queued.text and cookie_of(queued) is not None

    async def test_uncovered_is_allowed_without_cookie(self, site: Site) -> None:
        """A request no room covers is allowed and gets no cookie."""
        await site.add_room(total_active_users=1, new_users_per_minute=60, path="/shop")
        async with site.visitor() as visitor:
            response = await visitor.get("/.antechamber/auth", headers=described("/about"))
        assert 200 == response.status_code and not response.headers.get_list("set-cookie")

    async def test_json_mode(self, site: Site) -> None:
        """With json_response_enabled and Accept: application/json the queue answer is the JSON body."""
        await site.add_room(total_active_users=1, new_users_per_minute=60, json_response_enabled=True)
        async with site.visitor() as first, site.visitor(accept="application/json") as second:
            await auth(first)
            queued = await auth(second)
        assert 429 == queued.status_code and queued.json()["cfWaitingRoom"]["inWaitingRoom"]

    async def test_nginx_original_uri_header(self, site: Site) -> None:
        """X-Original-URI names the original path when X-Forwarded-Uri is absent."""
        await site.add_room(total_active_users=1, new_users_per_minute=60, path="/shop")
        async with site.visitor() as first, site.visitor() as second:
            await first.get("/.antechamber/auth", headers={"x-forwarded-host": HOST, "x-original-uri": "/shop/x"})
            queued = await second.get(
                "/.antechamber/auth", headers={"x-forwarded-host": HOST, "x-original-uri": "/shop/y?z=1"}
            )
        assert 429 == queued.status_code


class TestNginx:
    async def test_allow_and_deny_codes(self, site: Site) -> None:
        """nginx gets 200 to allow and 401 to deny, each with exactly one Set-Cookie."""
        await site.add_room(total_active_users=1, new_users_per_minute=60)
        async with site.visitor() as first, site.visitor() as second:
            allowed = await auth(first, "/.antechamber/auth/nginx")
            denied = await auth(second, "/.antechamber/auth/nginx", **{"x-original-uri": "/?lang=de-DE"})
        assert (200, 401) == (allowed.status_code, denied.status_code)
        assert 1 == len(allowed.headers.get_list("set-cookie")) == len(denied.headers.get_list("set-cookie"))

    async def test_page_renders_without_counting(self, site: Site) -> None:
        """The page endpoint shows the queue page for the fresh cookie and changes no counter."""
        room_id = await site.add_room(total_active_users=1, new_users_per_minute=60)
        async with site.visitor() as first, site.visitor() as second:
            await auth(first, "/.antechamber/auth/nginx")
            denied = await auth(second, "/.antechamber/auth/nginx")
            fresh = denied.headers["set-cookie"]
            second.cookies.clear()  # nginx hands the page the fresh cookie in a header, not in Cookie
            before = site.state.snapshot(room_id, site.clock())
            site.clock.advance(25)  # even past the refresh interval, the page is a read-only render
            page = await second.get(
                "/.antechamber/page", headers=described("/?lang=de-DE", **{"x-antechamber-set-cookie": fresh})
            )
            after = site.state.snapshot(room_id, site.clock())
        assert 200 == page.status_code and 'lang="de-DE"' in page.text and "20" == page.headers["refresh"]
        assert (before.waiting, before.active) == (after.waiting, after.active)
        assert fresh in page.headers.get_list("set-cookie")

    async def test_page_for_admitted_visitor_redirects(self, site: Site) -> None:
        """If the visitor may go in after all, the page sends it back to its URI without a cookie."""
        await site.add_room(total_active_users=5, new_users_per_minute=60)
        async with site.visitor() as visitor:
            page = await visitor.get("/.antechamber/page", headers=described("/cart?x=1"))
        assert (303, "/cart?x=1") == (page.status_code, page.headers["location"])
        assert not page.headers.get_list("set-cookie")

    async def test_page_redirect_stays_on_site(self, site: Site) -> None:
        """A protocol-relative original URI (//evil.example) cannot turn the redirect into an open redirect."""
        await site.add_room(total_active_users=5, new_users_per_minute=60)
        async with site.visitor() as visitor:
            page = await visitor.get("/.antechamber/page", headers=described("//evil.example/x"))
        assert "/evil.example/x" == page.headers["location"]


class TestNginxKeepsAnAdmittedAnswer:
    """X-Accel-Expires: 1 only on an unchanged admitted session on a one-room host, 0 on every other answer."""

    async def test_only_an_unchanged_session_may_be_kept(self, site: Site) -> None:
        """Admission (a new cookie) 0, the next request 1, a renewal 0, a queued visitor 0, the Caddy endpoint none."""
        await site.add_room(total_active_users=1, new_users_per_minute=60)
        nginx = "/.antechamber/auth/nginx"
        async with site.visitor() as first, site.visitor() as second:
            let_in = await auth(first, nginx, proto="http")
            again = await auth(first, nginx, proto="http")
            undecided = await auth(first, nginx, proto="http")  # the same header again: answered undecided
            site.clock.advance(6)  # past the renewal step: the session is renewed, with a new cookie
            renewed = await auth(first, nginx, proto="http")
            after_renewal = await auth(first, nginx, proto="http")
            queued = await auth(second, nginx, proto="http")
            caddy = await auth(first, proto="http")
        answers = (let_in, again, undecided, renewed, after_renewal, queued)
        assert [r.status_code for r in answers] == [200, 200, 200, 200, 200, 401]
        assert renewed.headers.get_list("set-cookie") and not again.headers.get_list("set-cookie")
        assert [r.headers["x-accel-expires"] for r in answers] == ["0", "1", "1", "0", "1", "0"]
        assert (undecided.text, undecided.headers.raw[:3]) == (again.text, again.headers.raw[:3])
        # nginx heeds it only before any Cache-Control.
        names = [name.lower() for name, _ in again.headers.raw]
        assert names.index(b"x-accel-expires") < names.index(b"cache-control")
        assert "x-accel-expires" not in caddy.headers

    async def test_nothing_is_kept_where_several_rooms_share_the_host_or_none_covers_it(self, site: Site) -> None:
        """A cookie-keyed answer cannot tell two rooms on one host apart, so none is kept; nor an uncovered page's."""
        await site.add_room(total_active_users=5, new_users_per_minute=60)
        await site.add_room(name="tickets", path="/tickets", total_active_users=5, new_users_per_minute=60)
        nginx = "/.antechamber/auth/nginx"
        async with site.visitor() as visitor:
            await auth(visitor, nginx, proto="http")
            again = await auth(visitor, nginx, proto="http")
            undecided = await auth(visitor, nginx, proto="http")
            other = await visitor.get(nginx, headers={**described(proto="http"), "x-forwarded-host": "elsewhere.test"})
        assert (200, "0") == (again.status_code, again.headers["x-accel-expires"])
        assert (200, "0") == (undecided.status_code, undecided.headers["x-accel-expires"])
        assert (200, "0") == (other.status_code, other.headers["x-accel-expires"])


class TestRevokeEndpoint:
    async def test_revoke_drops_session(self, site: Site) -> None:
        """POST /.antechamber/revoke with the visitor's cookie ends its session and clears the cookie."""
        room_id = await site.add_room(total_active_users=1, new_users_per_minute=60, enabled_origin_commands=["revoke"])
        async with site.visitor() as visitor:
            await auth(visitor)
            cookie = visitor.cookies["__cfwaitingroom"]
        async with httpx.AsyncClient(base_url=site.url) as origin:
            response = await origin.post(
                "/.antechamber/revoke", headers={**described("/"), "cookie": f"__cfwaitingroom={cookie}"}
            )
        assert 200 == response.status_code and {"revoked": True} == response.json()
        cleared = cookie_of(response)
        assert cleared is not None and "Max-Age=0" in cleared
        assert 0 == site.state.snapshot(room_id, site.clock()).active

    async def test_revoke_without_session(self, site: Site) -> None:
        """Revoking without a valid session changes nothing and says so."""
        await site.add_room(total_active_users=1, new_users_per_minute=60, enabled_origin_commands=["revoke"])
        async with httpx.AsyncClient(base_url=site.url) as origin:
            response = await origin.post(
                "/.antechamber/revoke", headers={**described("/"), "cookie": "__cfwaitingroom=junk"}
            )
        assert {"revoked": False} == response.json()

    async def test_revoke_not_enabled_is_403(self, site: Site) -> None:
        """A room without "revoke" in enabled_origin_commands refuses with a clear 403."""
        await site.add_room(total_active_users=1, new_users_per_minute=60)
        async with httpx.AsyncClient(base_url=site.url) as origin:
            response = await origin.post("/.antechamber/revoke", headers=described("/"))
        assert 403 == response.status_code and "enabled_origin_commands" in response.text

    async def test_revoke_needs_post_and_a_room(self, site: Site) -> None:
        """GET is refused with 405; a host no room covers gives 404."""
        await site.add_room(total_active_users=1, new_users_per_minute=60, enabled_origin_commands=["revoke"])
        async with httpx.AsyncClient(base_url=site.url) as origin:
            wrong_method = await origin.get("/.antechamber/revoke", headers=described("/"))
            nowhere = await origin.post("/.antechamber/revoke", headers={"x-forwarded-host": "nope.example.org"})
        assert (405, "POST") == (wrong_method.status_code, wrong_method.headers["allow"])
        assert 404 == nowhere.status_code
