"""The challenge through the gateway: widget on the queue page, issue and verify endpoints, infinite queue.

Over real HTTP against the in-process gateway; visitors are secure (``X-Forwarded-Proto:
https`` from the trusted loopback proxy), since browsers run the widget only on secure
pages. Solutions come from the ``altcha`` package's own solver here; the browser tests
at the end run the real widget in Chromium.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from antechamber.challenge.altcha import Altcha
from antechamber.challenge.spent import MemorySpentSet
from antechamber.challenge.turnstile import Siteverify as TurnstileVerify
from antechamber.challenge.turnstile import action_for
from antechamber.challenge.widget import SOLUTION_HEADER
from antechamber.gateway.challenge import ChallengeGate, TurnstileSite
from tests import services
from tests.challenge.cdp import Browser, chromium
from tests.challenge.support import EASY, now_ms, solve
from tests.gateway.harness import HOST, KEYRING, Clock, Site, running_site

SECURE = {"x-forwarded-proto": "https"}


@contextlib.asynccontextmanager
async def guarded_site(
    tmp_path: Path, *, action: str = "infinite_queue", mode: str = "invisible", host: str = HOST, easy: bool = True
) -> AsyncIterator[tuple[Site, str, ChallengeGate]]:
    """A gateway with the challenge, and a full room (one active user, already in) that asks it."""
    gate = ChallengeGate(Altcha(KEYRING, difficulty=EASY if easy else None), MemorySpentSet())
    async with running_site(tmp_path, clock=Clock(now_ms()), challenge=gate) as site:
        room_id = await site.add_room(
            host=host,
            total_active_users=1,
            new_users_per_minute=200,
            session_duration=1,
            turnstile_mode=mode,
            turnstile_action=action,
            json_response_enabled=True,
        )
        async with httpx.AsyncClient(base_url=site.url, headers={"host": host, **SECURE}) as first:
            assert (await first.get("/")).json()["path"] == "/"  # admitted: the room is now full
        yield site, room_id, gate


class Client:
    """A secure visitor whose room cookie travels by hand (httpx keeps Secure cookies off plain-HTTP loopback)."""

    def __init__(self, site: Site, host: str = HOST) -> None:
        self.http = httpx.AsyncClient(base_url=site.url, headers={"host": host, **SECURE})
        self.cookie: str | None = None

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def request(self, method: str, path: str, **headers: str) -> httpx.Response:
        if self.cookie:
            headers["cookie"] = self.cookie
        response = await self.http.request(method, path, headers=headers)
        for value in response.headers.get_list("set-cookie"):
            if value.startswith("__cfwaitingroom="):
                self.cookie = value.split(";", 1)[0]
        return response

    async def get(self, path: str, **headers: str) -> httpx.Response:
        return await self.request("GET", path, **headers)

    async def post(self, path: str, **headers: str) -> httpx.Response:
        return await self.request("POST", path, **headers)


def visitor(site: Site, host: str = HOST) -> Client:
    return Client(site, host)


def verify(room_id: str) -> str:
    return f"/.antechamber/challenge/verify?room={room_id}"


async def take_challenge(client: Client, room_id: str, solution: str | None = None) -> httpx.Response:
    """Fetch a challenge as the widget does, and post a solution (the right one unless given)."""
    challenge = await client.get(f"/.antechamber/challenge?room={room_id}")
    assert challenge.status_code == 200, challenge.text
    answer = solve(challenge.json()) if solution is None else solution
    return await client.post(verify(room_id), **{SOLUTION_HEADER: answer})


def wrong(payload: str) -> str:
    """A solution with another derived key: what a client that did not do the work sends."""
    decoded = json.loads(base64.b64decode(payload))
    key = decoded["solution"]["derivedKey"]
    decoded["solution"]["derivedKey"] = key[:-1] + ("0" if key[-1] != "0" else "1")
    return base64.b64encode(json.dumps(decoded).encode()).decode()


def waiting(site: Site, room_id: str) -> int:
    return site.state.snapshot(room_id, site.clock()).waiting


async def test_queue_page_and_json_carry_the_widget(tmp_path: Path) -> None:
    """A held visitor's page has the widget in {{{turnstile}}}; JSON clients get it in the turnstile field."""
    async with guarded_site(tmp_path, action="log") as (site, room_id, _gate), visitor(site) as client:
        page = await client.get("/")
        assert "<altcha-widget" in page.text and f"room={room_id}" in page.text
        data = (await client.get("/", accept="application/json")).json()["cfWaitingRoom"]
        assert "<altcha-widget" in data["turnstile"] and data["infiniteQueue"] is False


async def test_plain_http_gets_no_widget_and_is_not_held(tmp_path: Path) -> None:
    """Browsers run the widget only on secure pages: over plain HTTP nobody is asked, so nobody is held."""
    async with guarded_site(tmp_path) as (site, room_id, _gate):
        async with httpx.AsyncClient(base_url=site.url, headers={"host": HOST}) as client:
            page = await client.get("/")
            assert "<altcha-widget" not in page.text
        assert waiting(site, room_id) == 1


async def test_infinite_queue_places_a_visitor_only_after_it_passes(tmp_path: Path) -> None:
    """Held out of the line while unsolved; a solved challenge re-seals the cookie and the next refresh places it."""
    async with guarded_site(tmp_path) as (site, room_id, gate), visitor(site) as client:
        await client.get("/")
        assert waiting(site, room_id) == 0
        verified = await take_challenge(client, room_id)
        assert verified.json() == {"verified": True} and "set-cookie" in verified.headers
        site.clock.advance(20)
        page = await client.get("/")
        assert "<altcha-widget" not in page.text  # passed: no more widget
        assert waiting(site, room_id) == 1
        assert (gate.counts[room_id].issued, gate.counts[room_id].passed) == (1, 1)


async def test_a_failing_client_stays_in_the_infinite_queue_for_good(tmp_path: Path) -> None:
    """A forged solution looks accepted, then the client waits forever, never counted and never let in."""
    async with guarded_site(tmp_path) as (site, room_id, gate), visitor(site) as bot:
        await bot.get("/")
        challenge = (await bot.get(f"/.antechamber/challenge?room={room_id}")).json()
        forged = wrong(solve(challenge))
        answer = await bot.post(verify(room_id), **{SOLUTION_HEADER: forged})
        assert answer.json() == {"verified": True}  # the bot is not told
        assert "<altcha-widget" not in (await bot.get("/")).text  # as after a pass: no widget, no loop of answers
        for _ in range(40):  # twenty minutes: the one session ends, the room empties
            site.clock.advance(30)
            data = (await bot.get("/", accept="application/json")).json()["cfWaitingRoom"]
            assert data["infiniteQueue"] is True
            assert waiting(site, room_id) == 0
        assert gate.counts[room_id].failed_bot == 1
        async with visitor(site) as human:  # the room is free for everyone else
            assert (await human.get("/")).json()["path"] == "/"


async def test_a_solution_is_bound_to_its_visitor(tmp_path: Path) -> None:
    """Another visitor's solution fails (without marking anyone a bot), and nothing changes for it."""
    async with guarded_site(tmp_path) as (site, room_id, _gate), visitor(site) as first, visitor(site) as second:
        await first.get("/")
        await second.get("/")
        stolen = solve((await first.get(f"/.antechamber/challenge?room={room_id}")).json())
        refused = await second.post(verify(room_id), **{SOLUTION_HEADER: stolen})
        assert refused.json()["verified"] is False and "set-cookie" not in refused.headers
        site.clock.advance(20)
        await second.get("/")
        assert waiting(site, room_id) == 0


async def test_a_solution_is_used_once(tmp_path: Path) -> None:
    """Replaying a solution the visitor already spent changes nothing and grants nothing new."""
    async with guarded_site(tmp_path) as (site, room_id, _gate), visitor(site) as client:
        await client.get("/")
        before = client.cookie
        challenge = (await client.get(f"/.antechamber/challenge?room={room_id}")).json()
        answer = solve(challenge)
        passed = await client.post(verify(room_id), **{SOLUTION_HEADER: answer})
        assert passed.json() == {"verified": True}
        client.cookie = before  # back to the cookie from before it passed, and the same solution again
        again = await client.post(verify(room_id), **{SOLUTION_HEADER: answer})
        assert again.json() == {"verified": True}  # a replay is a bot signal: the infinite queue, told nothing
        data = (await client.get("/", accept="application/json")).json()["cfWaitingRoom"]
        assert data["infiniteQueue"] is True


async def test_a_reload_gets_the_open_challenge_again(tmp_path: Path) -> None:
    """Issuing costs a key derivation: a visitor gets its unanswered challenge back, and a new one once it answered."""
    async with guarded_site(tmp_path) as (site, room_id, gate), visitor(site) as client:
        await client.get("/")
        first = (await client.get(f"/.antechamber/challenge?room={room_id}")).json()
        assert (await client.get(f"/.antechamber/challenge?room={room_id}")).json() == first
        assert gate.counts[room_id].issued == 1
        await client.post(verify(room_id), **{SOLUTION_HEADER: "not-a-solution"})
        assert (await client.get(f"/.antechamber/challenge?room={room_id}")).json() != first


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/.antechamber/challenge?room=nosuchroom", 404),
        ("/.antechamber/challenge?room={room}", 403),  # no room cookie: nothing to bind to
    ],
)
async def test_endpoint_refusals(tmp_path: Path, path: str, status: int) -> None:
    """Unknown rooms and visitors without a cookie get a clear JSON error, not a challenge."""
    async with guarded_site(tmp_path) as (site, room_id, _gate), visitor(site) as client:
        response = await client.get(path.format(room=room_id))
        assert response.status_code == status and "error" in response.json()


async def test_the_widget_script_is_served(tmp_path: Path) -> None:
    """The vendored widget comes from the gateway itself: no third-party script on the page."""
    async with guarded_site(tmp_path) as (site, _room_id, _gate), visitor(site) as client:
        script = await client.get("/.antechamber/challenge/altcha.i18n.min.js")
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
        assert b"altcha" in script.content[:100_000]


# --- the real widget in a real browser ---------------------------------------------------------------------


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium(services.chromium_binary()) as started:
        yield started


async def _body(browser: Browser, page: Any) -> str:
    return str(await page.evaluate("document.body ? document.body.innerText : ''"))


@pytest.mark.browser
async def test_invisible_challenge_in_chromium_then_the_origin(tmp_path: Path, browser: Browser) -> None:
    """The invisible widget solves by itself, the visitor joins the line, and reaches the origin on its turn."""
    async with guarded_site(tmp_path, host="localhost", easy=False) as (site, room_id, gate):
        port = site.url.rsplit(":", 1)[1]
        page = await browser.new_page()
        url = f"http://localhost:{port}/products"
        await page.goto(url)
        await page.wait_for("document.querySelector('altcha-widget') !== null")
        deadline = asyncio.get_running_loop().time() + 20
        while gate.counts.get(room_id) is None or gate.counts[room_id].passed < 1:
            assert asyncio.get_running_loop().time() < deadline, f"never passed; console: {browser.console}"
            await asyncio.sleep(0.1)
        # The widget reloads the page itself once its solution is taken: a passed page, no widget.
        await page.wait_for("document.readyState === 'complete' && !document.querySelector('altcha-widget')")
        site.clock.advance(20)
        await page.goto(url)  # the next counted refresh places the visitor in the line
        assert waiting(site, room_id) >= 1  # (a favicon request with the same cookie may count it twice)
        site.clock.advance(120)  # the first visitor's one-minute session is over: its turn
        await page.goto(url)
        body = await _body(browser, page)
        assert '"path"' in body, f"not let in: {body[:300]!r}"
        assert json.loads(await _body(browser, page))["path"] == "/products"


@pytest.mark.browser
async def test_managed_challenge_waits_for_the_click(tmp_path: Path, browser: Browser) -> None:
    """visible_managed shows a checkbox and nothing happens until the visitor ticks it."""
    async with guarded_site(tmp_path, host="localhost", mode="visible_managed", easy=False) as (site, room_id, gate):
        port = site.url.rsplit(":", 1)[1]
        page = await browser.new_page()
        await page.goto(f"http://localhost:{port}/")
        box = await page.wait_for(
            "(function () { var c = document.querySelector('altcha-widget input[type=checkbox]');"
            " if (!c) return null; var r = c.getBoundingClientRect();"
            " return r.width > 0 ? {x: r.x + r.width / 2, y: r.y + r.height / 2} : null; })()"
        )
        await asyncio.sleep(3)
        assert gate.counts.get(room_id) is None or gate.counts[room_id].passed == 0
        await page.click(box["x"], box["y"])
        deadline = asyncio.get_running_loop().time() + 20
        while gate.counts.get(room_id) is None or gate.counts[room_id].passed < 1:
            assert asyncio.get_running_loop().time() < deadline, f"never passed; console: {browser.console}"
            await asyncio.sleep(0.1)


# --- Cloudflare Turnstile instead of ALTCHA, against a stand-in siteverify ----------------------------------

TURNSTILE_SECRET = "0x4AAAAAAA-test-secret"


class Siteverify(BaseHTTPRequestHandler):
    """Cloudflare's siteverify, as far as the gateway needs it: ``human:<action>`` passes, anything else is a bot."""

    def do_POST(self) -> None:
        form = dict(parse_qsl(self.rfile.read(int(self.headers.get("content-length", "0"))).decode()))
        token = form.get("response", "")
        if form.get("secret") == TURNSTILE_SECRET and token.startswith("human:"):
            answer = {"success": True, "hostname": HOST, "action": token.removeprefix("human:"), "error-codes": []}
        else:
            answer = {"success": False, "error-codes": ["invalid-input-response"]}
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@contextlib.asynccontextmanager
async def turnstile_site(tmp_path: Path) -> AsyncIterator[tuple[Site, str]]:
    with services.http_origin(Siteverify) as base:
        async with TurnstileVerify(TURNSTILE_SECRET, url=f"{base}/turnstile/v0/siteverify", timeout=2) as verifier:
            gate = ChallengeGate(Altcha(KEYRING), MemorySpentSet(), TurnstileSite("1x00000000000000000000AA", verifier))
            async with running_site(tmp_path, clock=Clock(now_ms()), challenge=gate) as site:
                room_id = await site.add_room(
                    total_active_users=1,
                    new_users_per_minute=200,
                    turnstile_action="infinite_queue",
                    json_response_enabled=True,
                )
                async with visitor(site) as first:
                    await first.get("/")
                yield site, room_id


async def test_turnstile_widget_and_siteverify(tmp_path: Path) -> None:
    """With a site key the page carries Turnstile's widget, and a token siteverify accepts places the visitor."""
    async with turnstile_site(tmp_path) as (site, room_id), visitor(site) as client:
        page = await client.get("/")
        assert 'class="cf-turnstile"' in page.text and "1x00000000000000000000AA" in page.text
        assert (await client.get(f"/.antechamber/challenge?room={room_id}")).status_code == 404  # Cloudflare issues
        passed = await client.post(verify(room_id), **{SOLUTION_HEADER: f"human:{action_for(room_id)}"})
        assert passed.json() == {"verified": True}
        site.clock.advance(20)
        await client.get("/")
        assert waiting(site, room_id) == 1


async def test_turnstile_bot_verdict_means_the_infinite_queue(tmp_path: Path) -> None:
    """A token siteverify calls invalid is a bot: told it passed, then held forever, never counted."""
    async with turnstile_site(tmp_path) as (site, room_id), visitor(site) as bot:
        await bot.get("/")
        assert (await bot.post(verify(room_id), **{SOLUTION_HEADER: "forged"})).json() == {"verified": True}
        site.clock.advance(20)
        data = (await bot.get("/", accept="application/json")).json()["cfWaitingRoom"]
        assert data["infiniteQueue"] is True and waiting(site, room_id) == 0


async def test_a_custom_template_gets_the_widget_where_it_asks(tmp_path: Path) -> None:
    """A room's own page receives the widget through {{{turnstile}}}; without the tag it has none."""
    async with guarded_site(tmp_path, action="log") as (site, room_id, _gate), visitor(site) as client:
        await site.edit_room(room_id, custom_page_html="<html><body><p>Wait</p>{{{turnstile}}}</body></html>")
        page = await client.get("/")
        assert "<p>Wait</p>" in page.text and "<altcha-widget" in page.text
        await site.edit_room(room_id, custom_page_html="<html><body><p>Wait, no widget</p></body></html>")
        site.clock.advance(20)
        page = await client.get("/")
        assert "no widget" in page.text and "<altcha-widget" not in page.text
