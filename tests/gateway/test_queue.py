"""Queue responses over real HTTP: every method, the room switches, events, JSON, cookies, language."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.gateway.harness import Site, running_site
from tests.gateway.test_proxy import cookie_of


def at_origin(response: httpx.Response) -> bool:
    """The response came from the origin (the harness origin echoes JSON)."""
    return response.headers.get("content-type") == "application/json" and "path" in response.json()


class TestFifo:
    async def test_overflow_is_queued_with_page_headers(self, site: Site) -> None:
        """Past capacity a new visitor gets the queue page: status, no-store, Refresh, cookie."""
        await site.add_room(total_active_users=1, new_users_per_minute=60)
        async with site.visitor() as first, site.visitor() as second:
            await first.get("/")
            queued = await second.get("/")
        assert 200 == queued.status_code
        assert "no-store" == queued.headers["cache-control"]
        assert "20" == queued.headers["refresh"]
        assert "retry-after" not in queued.headers
        assert "<html" in queued.text and not site.origin_log[1:]
        cookie = cookie_of(queued)
        assert cookie is not None and "Max-Age=300" in cookie

    async def test_the_first_in_line_is_asked_back_when_its_turn_comes(self, site: Site) -> None:
        """Refresh (header and JSON alike) is 20 s far from one's turn, the time left near it, 1 s at it."""
        await site.add_room(
            total_active_users=1, new_users_per_minute=60, session_duration=1, json_response_enabled=True
        )
        async with site.visitor() as holder, site.visitor(accept="application/json") as first:
            await holder.get("/")  # the holder's session ends one minute on
            site.clock.advance(1)
            far = await first.get("/")
            site.clock.advance(44)  # 15 s before the session ends
            near = await first.get("/")
            site.clock.advance(10)  # 5 s before: exits that close are a room's ordinary turnover
            at_turn = await first.get("/")
        assert "20" == far.headers["refresh"] == str(far.json()["cfWaitingRoom"]["refreshIntervalSeconds"])
        assert "15" == near.headers["refresh"] == str(near.json()["cfWaitingRoom"]["refreshIntervalSeconds"])
        assert "1" == at_turn.headers["refresh"]

    async def test_status_429_adds_retry_after(self, site: Site) -> None:
        """queueing_status_code 429 is used, with Retry-After: 20."""
        await site.add_room(total_active_users=1, new_users_per_minute=60, queueing_status_code=429)
        async with site.visitor() as first, site.visitor() as second:
            await first.get("/")
            queued = await second.get("/")
        assert (429, "20") == (queued.status_code, queued.headers["retry-after"])

    async def test_visitors_get_in_in_arrival_order(self, site: Site) -> None:
        """When a slot frees up, the earliest queued visitor gets it; an early refresh changes nothing."""
        await site.add_room(total_active_users=1, new_users_per_minute=60, session_duration=1)
        async with site.visitor() as holder, site.visitor() as early, site.visitor() as late:
            await holder.get("/")
            site.clock.advance(1)
            await early.get("/")
            site.clock.advance(1)
            await late.get("/")
            too_soon = await early.get("/")
            assert not at_origin(too_soon) and cookie_of(too_soon) is None  # not counted: cookie unchanged
            for _ in range(2):  # both keep refreshing every 20 s while the holder's session lasts
                site.clock.advance(20)
                assert not at_origin(await late.get("/")) and not at_origin(await early.get("/"))
            site.clock.advance(20)  # the holder's one-minute session has ended
            late_try = await late.get("/")
            early_try = await early.get("/")
        assert not at_origin(late_try)
        assert at_origin(early_try)

    async def test_abandoned_place_expires(self, site: Site) -> None:
        """A queued visitor who stops refreshing for 5 minutes comes back as a new user."""
        room_id = await site.add_room(total_active_users=1, new_users_per_minute=60, session_duration=30)
        async with site.visitor() as holder, site.visitor() as quitter:
            await holder.get("/")
            await quitter.get("/")
            assert 1 == site.state.snapshot(room_id, site.clock()).waiting
            site.clock.advance(320)  # the hold, plus the 10 s refresh window it is counted in
            assert 0 == site.state.snapshot(room_id, site.clock()).waiting
            back = await quitter.get("/")
        assert cookie_of(back) is not None and not at_origin(back)


class TestMethods:
    async def test_random_admits_by_lottery(self, site: Site) -> None:
        """A random room queues the overflow and lets someone in once slots free up."""
        await site.add_room(total_active_users=1, new_users_per_minute=60, queueing_method="random", session_duration=1)
        async with site.visitor() as holder, site.visitor() as waiter:
            await holder.get("/")
            queued = await waiter.get("/")
            assert not at_origin(queued)
            site.clock.advance(61)
            admitted = await waiter.get("/")  # the only contender: the draw's odds are 1
        assert at_origin(admitted)

    async def test_passthrough_admits_everyone(self, site: Site) -> None:
        """Passthrough ignores the limits and still sets the session cookie (counted)."""
        room_id = await site.add_room(total_active_users=1, new_users_per_minute=1, queueing_method="passthrough")
        responses = []
        for _ in range(3):
            async with site.visitor() as visitor:
                responses.append(await visitor.get("/"))
        assert all(at_origin(r) and cookie_of(r) for r in responses)
        assert 3 == site.state.snapshot(room_id, site.clock()).active

    async def test_reject_serves_static_page(self, site: Site) -> None:
        """Reject answers with the reject page: no Refresh header, nobody reaches the origin."""
        await site.add_room(total_active_users=5, new_users_per_minute=60, queueing_method="reject")
        async with site.visitor() as visitor:
            response = await visitor.get("/")
        assert 200 == response.status_code and "refresh" not in response.headers
        assert "<html" in response.text and not site.origin_log

    async def test_reject_json(self, site: Site) -> None:
        """A reject room in JSON mode reports isRejectQueue and refreshIntervalSeconds 0."""
        await site.add_room(
            total_active_users=5, new_users_per_minute=60, queueing_method="reject", json_response_enabled=True
        )
        async with site.visitor(accept="application/json") as visitor:
            body = (await visitor.get("/")).json()["cfWaitingRoom"]
        assert (True, 0) == (body["isRejectQueue"], body["refreshIntervalSeconds"])


class TestSwitches:
    async def test_queue_all_holds_new_users_but_not_sessions(self, site: Site) -> None:
        """queue_all queues every new visitor while existing sessions stay on the site."""
        room_id = await site.add_room(total_active_users=5, new_users_per_minute=60, json_response_enabled=True)
        async with site.visitor() as inside, site.visitor(accept="application/json") as newcomer:
            await inside.get("/")
            await site.edit_room(room_id, queue_all=True)
            still_in = await inside.get("/")
            held = await newcomer.get("/")
        assert at_origin(still_in)
        body = held.json()["cfWaitingRoom"]
        assert (True, False) == (body["queueAll"], body["waitTimeKnown"])

    async def test_suspended_room_sets_no_cookie(self, site: Site) -> None:
        """A suspended room sends everyone to the origin without a cookie."""
        await site.add_room(total_active_users=1, new_users_per_minute=1, suspended=True)
        for _ in range(2):
            async with site.visitor() as visitor:
                response = await visitor.get("/")
            assert at_origin(response) and not response.headers.get_list("set-cookie")


class TestEvents:
    async def test_prequeue_then_shuffled_start(self, site: Site) -> None:
        """During the prequeue everyone waits (event fields shown); at the start the prequeued get in."""
        room_id = await site.add_room(total_active_users=1, new_users_per_minute=60, json_response_enabled=True)
        await site.add_event(
            room_id,
            prequeue_start_time=site.clock.iso(60),
            event_start_time=site.clock.iso(600),
            event_end_time=site.clock.iso(3600),
            shuffle_at_event_start=True,
            total_active_users=2,
        )
        site.clock.advance(120)
        async with site.visitor(accept="application/json") as a, site.visitor(accept="application/json") as b:
            pre_a = (await a.get("/")).json()["cfWaitingRoom"]
            await b.get("/")
            assert pre_a["isEventPrequeueing"] and pre_a["shuffleAtEventStart"] and pre_a["isEventActive"]
            assert 8 == pre_a["timeUntilEventStart"]
            site.clock.advance(480)  # the event has started
            results = [await a.get("/"), await b.get("/")]
        assert all(at_origin(r) for r in results)  # the event's limit of 2 holds both

    async def test_event_override_applies_only_in_window(self, site: Site) -> None:
        """An event's capacity override applies during the event, and the room's after it ends."""
        room_id = await site.add_room(total_active_users=1, new_users_per_minute=60, session_duration=1)
        await site.add_event(
            room_id, event_start_time=site.clock.iso(0), event_end_time=site.clock.iso(120), total_active_users=3
        )
        async with site.visitor() as a, site.visitor() as b:
            assert at_origin(await a.get("/")) and at_origin(await b.get("/"))
        site.clock.advance(180)
        async with site.visitor() as c, site.visitor() as d:
            assert at_origin(await c.get("/"))
            assert not at_origin(await d.get("/"))


class TestJson:
    async def test_json_only_for_exact_accept(self, site: Site) -> None:
        """JSON mode answers the 25 fields for Accept: application/json exactly, HTML otherwise."""
        await site.add_room(total_active_users=1, new_users_per_minute=60, json_response_enabled=True)
        async with site.visitor() as holder:
            await holder.get("/")
        async with (
            site.visitor(accept="application/json") as exact,
            site.visitor(accept="application/json, */*") as mixed,
        ):
            as_json = await exact.get("/")
            as_html = await mixed.get("/")
        body = as_json.json()["cfWaitingRoom"]
        assert 25 == len(body) and body["inWaitingRoom"] and body["isFIFOQueue"]
        assert "20" == as_json.headers["refresh"] and cookie_of(as_json) is not None
        assert as_html.headers["content-type"].startswith("text/html")

    async def test_json_disabled_gives_html(self, site: Site) -> None:
        """Without json_response_enabled an exact JSON Accept still gets the HTML page."""
        await site.add_room(total_active_users=1, new_users_per_minute=60)
        async with site.visitor() as holder:
            await holder.get("/")
        async with site.visitor(accept="application/json") as visitor:
            assert (await visitor.get("/")).headers["content-type"].startswith("text/html")


class TestCustomPageAndLanguage:
    async def test_custom_page_html(self, site: Site) -> None:
        """custom_page_html is rendered as Mustache with the cfWaitingRoom fields."""
        html = "<p>method={{queueingMethod}} refresh={{refreshIntervalSeconds}}</p>"
        await site.add_room(total_active_users=1, new_users_per_minute=60, custom_page_html=html)
        async with site.visitor() as holder, site.visitor() as visitor:
            await holder.get("/")
            page = (await visitor.get("/")).text
        assert "<p>method=fifo refresh=20</p>" == page

    async def test_room_default_language(self, site: Site) -> None:
        """The page uses the room's default_template_language."""
        await site.add_room(total_active_users=1, new_users_per_minute=60, default_template_language="de-DE")
        async with site.visitor() as holder, site.visitor() as visitor:
            await holder.get("/")
            page = (await visitor.get("/")).text
        assert 'lang="de-DE"' in page

    async def test_lang_query_is_remembered(self, site: Site) -> None:
        """?lang= switches the page language and a cookie keeps the choice for later refreshes."""
        await site.add_room(total_active_users=1, new_users_per_minute=60)
        async with site.visitor() as holder, site.visitor() as visitor:
            await holder.get("/")
            chosen = await visitor.get("/?lang=fr-fr")
            later = await visitor.get("/")
            ignored = await visitor.get("/?lang=xx-XX")
        assert 'lang="fr-FR"' in chosen.text and cookie_of(chosen, "__antechamber_lang") is not None
        assert 'lang="fr-FR"' in later.text
        assert 'lang="fr-FR"' in ignored.text  # an unsupported choice falls back to the remembered one


class TestCookieAttributes:
    async def test_defaults_over_plain_http(self, site: Site) -> None:
        """auto/auto over plain HTTP: SameSite=Lax, not Secure."""
        await site.add_room(total_active_users=5, new_users_per_minute=60)
        async with site.visitor() as visitor:
            cookie = cookie_of(await visitor.get("/"))
        assert cookie is not None and "SameSite=Lax" in cookie and "Secure" not in cookie

    async def test_forwarded_https_from_trusted_proxy(self, site: Site) -> None:
        """X-Forwarded-Proto: https from a trusted proxy makes the cookie Secure and SameSite=None."""
        await site.add_room(total_active_users=5, new_users_per_minute=60)
        async with site.visitor(**{"x-forwarded-proto": "https"}) as visitor:
            response = await visitor.get("/")
        cookie = cookie_of(response)
        assert cookie is not None and "; Secure" in cookie and "SameSite=None" in cookie
        assert "https" == response.json()["headers"]["x-forwarded-proto"]

    async def test_forwarded_proto_ignored_from_untrusted_peer(self, tmp_path: Path, gateway_server: str) -> None:
        """X-Forwarded-Proto from a peer outside trusted_proxies is ignored and replaced for the origin."""
        async with running_site(tmp_path, trusted_proxies=("10.0.0.0/8",), server=gateway_server) as site:
            await site.add_room(total_active_users=5, new_users_per_minute=60)
            headers = {"x-forwarded-proto": "https", "x-forwarded-for": "6.6.6.6"}
            async with site.visitor(**headers) as visitor:
                response = await visitor.get("/")
        cookie = cookie_of(response)
        assert cookie is not None and "Secure" not in cookie
        seen = response.json()["headers"]
        assert ("http", "127.0.0.1") == (seen["x-forwarded-proto"], seen["x-forwarded-for"])

    async def test_explicit_attributes(self, site: Site) -> None:
        """secure=always and samesite=strict are applied as configured."""
        await site.add_room(
            total_active_users=5, new_users_per_minute=60, cookie_attributes={"samesite": "strict", "secure": "always"}
        )
        async with site.visitor() as visitor:
            cookie = cookie_of(await visitor.get("/"))
        assert cookie is not None and "SameSite=Strict" in cookie and "; Secure" in cookie

    async def test_secure_never(self, site: Site) -> None:
        """secure=never leaves Secure off even behind HTTPS; samesite=lax stays Lax."""
        await site.add_room(
            total_active_users=5, new_users_per_minute=60, cookie_attributes={"samesite": "lax", "secure": "never"}
        )
        async with site.visitor(**{"x-forwarded-proto": "https"}) as visitor:
            cookie = cookie_of(await visitor.get("/"))
        assert cookie is not None and "Secure" not in cookie and "SameSite=Lax" in cookie


async def test_requests_in_flight_at_admission_share_it(tmp_path: Path) -> None:
    """A queued visitor's two requests sent with the same cookie as its turn comes (a page and its
    favicon) are both let in, and take one place: the old cookie opens to the admission."""
    async with running_site(tmp_path) as site:
        room_id = await site.add_room(total_active_users=1, new_users_per_minute=60, session_duration=1)
        async with site.visitor() as first:
            await first.get("/")
        async with httpx.AsyncClient(base_url=site.url, headers={"host": "shop.example.com"}) as second:
            queued = await second.get("/")
            cookie = (cookie_of(queued) or "").split(";", 1)[0]
            site.clock.advance(90)  # the first session is over: the second visitor's turn
            page = await second.get("/", headers={"cookie": cookie})
            favicon = await second.get("/favicon.ico", headers={"cookie": cookie})
        assert page.json()["path"] == "/" and favicon.json()["path"] == "/favicon.ico"
        assert site.state.snapshot(room_id, site.clock()).active == 1
