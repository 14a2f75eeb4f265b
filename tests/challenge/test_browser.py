"""The real ALTCHA widget in headless Chromium, against the real issuer and verifier.

Each test serves the stand-in site (``tests/challenge/site.py``) on loopback, which
is a secure context, as the widget requires, and drives a fresh browser context
over DevTools. The difficulty is the shipped default, so these tests also show it
stays quick in a real browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from antechamber.challenge.altcha import Altcha
from antechamber.core.types import TurnstileMode
from tests import services
from tests.challenge.cdp import Browser, Page, chromium
from tests.challenge.site import ChallengeSite
from tests.challenge.support import KEYS
from tests.gateway.harness import serve

pytestmark = pytest.mark.browser

#: Generous against a loaded CI machine: the default difficulty takes ~0.2-0.9 s here.
SOLVE_LIMIT_MS = 5_000
#: How long the managed widget is left alone to show it does nothing without a click.
UNTOUCHED_S = 3.0


@pytest.fixture(scope="module")
def chromium_path() -> str:
    """The headless browser binary (skips outside CI when it is missing)."""
    return services.chromium_binary()


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with chromium(chromium_path) as started:
        yield started


@contextlib.asynccontextmanager
async def open_site(browser: Browser, mode: TurnstileMode) -> AsyncIterator[tuple[ChallengeSite, Page]]:
    """The stand-in site with the default difficulty, open in a fresh tab."""
    site = ChallengeSite(Altcha(KEYS), mode)
    async with serve(site.app()) as base:
        page = await browser.new_page()
        await page.goto(base + "/")
        yield site, page


async def passed(page: Page, browser: Browser) -> None:
    """Wait until the page reloaded into the passed state (the console helps when it does not)."""
    try:
        await page.wait_for("document.getElementById('state')?.textContent === 'passed'", timeout=20)
    except TimeoutError:
        pytest.fail(f"the page never passed; console: {browser.console}")


async def seen(page: Page) -> list[dict[str, Any]]:
    """The widget states the probe recorded, with whether the widget was on screen at each."""
    recorded: list[dict[str, Any]] = json.loads(await page.evaluate("sessionStorage.getItem('seen') || '[]'"))
    return recorded


def states(entries: list[dict[str, Any]]) -> list[str]:
    """The states in order, repeats merged (the widget says "verifying" again while its verify request runs)."""
    merged: list[str] = []
    for entry in entries:
        if not merged or merged[-1] != entry["state"]:
            merged.append(entry["state"])
    return merged


class TestWidget:
    async def test_invisible_solves_by_itself_unseen(self, browser: Browser) -> None:
        """Invisible: with no input at all the widget solves, the gateway's pass is set, and nothing showed."""
        async with open_site(browser, "invisible") as (site, page):
            await passed(page, browser)
            entries = await seen(page)
            assert ["verifying", "verified"] == states(entries)
            assert all(entry["rendered"] and not entry["shown"] for entry in entries)
            assert 1 == len(site.issued) == len(site.redeemed)
            redemption = site.redeemed[0]
            assert redemption.result.passed
            assert redemption.solve_ms is not None and redemption.solve_ms < SOLVE_LIMIT_MS

    async def test_non_interactive_solves_by_itself_in_view(self, browser: Browser) -> None:
        """Visible non-interactive: the widget is on screen while it solves, and needs no input either."""
        async with open_site(browser, "visible_non_interactive") as (site, page):
            await passed(page, browser)
            entries = await seen(page)
            assert ["verifying", "verified"] == states(entries)
            assert all(entry["rendered"] and entry["shown"] for entry in entries)
            assert [True] == [r.result.passed for r in site.redeemed]

    async def test_managed_needs_the_click(self, browser: Browser) -> None:
        """Visible managed: nothing happens until the visitor ticks the box; then it solves and passes."""
        async with open_site(browser, "visible_managed") as (site, page):
            box = await page.wait_for(
                "(function () { var c = document.querySelector('altcha-widget input[type=checkbox]');"
                " if (!c) return null; var r = c.getBoundingClientRect();"
                " return r.width > 0 ? {x: r.x + r.width / 2, y: r.y + r.height / 2} : null; })()"
            )
            await asyncio.sleep(UNTOUCHED_S)
            assert "unverified" == await page.evaluate("document.querySelector('altcha-widget').getState()")
            assert [] == site.issued and [] == site.redeemed
            assert "waiting" == await page.evaluate("document.getElementById('state').textContent")

            await page.click(box["x"], box["y"])
            await passed(page, browser)
            assert ["verifying", "verified"] == states(await seen(page))
            assert 1 == len(site.issued)
            assert [True] == [r.result.passed for r in site.redeemed]
