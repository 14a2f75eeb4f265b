"""The dashboard in Debian's Chromium (Playwright), on a real ``antechamber serve`` during a bounded surge.

Signs in, creates a room through the form, changes its limit, turns queue-all on and off
behind the confirmation dialog, watches the charts and the live figures move while a crowd
goes through the gateway, and checks the refusals: a wrong token, a read token that cannot
act, a form post without its CSRF token. It takes the screenshots docs/DASHBOARD.md shows
(into ``ANTECHAMBER_DASHBOARD_SCREENSHOTS`` when set, else a temporary directory).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.integration.deployment import HOST, Deployment, cli, run_crowd, start_deployment
from tests.services import chromium_binary, http_origin

pytestmark = [pytest.mark.slow]

LIMIT = 20
DESKTOP = {"width": 1360, "height": 1000}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    """One node serving the API (with the dashboard) and the gateway, on SQLite and the memory state."""
    with http_origin() as origin:
        deployment = start_deployment(
            tmp_path, nodes=1, database_url=f"sqlite:///{tmp_path / 'store.db'}", state="memory", origin=origin
        )
        try:
            _wait_for(deployment)
            yield deployment
        finally:
            deployment.stop()
            assert "Traceback" not in deployment.nodes[0].output(), deployment.nodes[0].output()[-3000:]


def _wait_for(deployment: Deployment) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(_root(deployment) + "/dashboard/sign-in", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise AssertionError("the API did not start: " + deployment.nodes[0].output()[-2000:])


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless (Playwright cannot download browsers here)."""
    async with async_playwright() as playwright:
        found = await playwright.chromium.launch(executable_path=chromium_binary(), args=["--no-sandbox"])
        yield found
        await found.close()


def _screenshots(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("ANTECHAMBER_DASHBOARD_SCREENSHOTS") or tmp_path / "shots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _root(deployment: Deployment) -> str:
    return deployment.api.removesuffix("/client/v4")


async def _sign_in(page: Page, root: str, secret: str) -> None:
    await page.goto(root + "/dashboard/sign-in")
    await page.get_by_label("API token or operator password").fill(secret)
    await page.get_by_role("button", name="Sign in").click()


async def test_an_operator_runs_a_surge_from_the_dashboard(
    deployment: Deployment, browser: Browser, tmp_path: Path
) -> None:
    """Sign in, create a room, change its limit, queue-all on and off, and watch the charts move during a surge."""
    root = _root(deployment)
    shots = _screenshots(tmp_path)
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    errors: list[str] = []
    # Script errors and CSP violations; a refused form's 400 or the favicon's 404 is no script error.
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )

    await _sign_in(page, root, "wrong-token")
    await expect(page.get_by_role("alert")).to_contain_text("not a valid API token")
    await _sign_in(page, root, deployment.token)
    await expect(page.get_by_role("heading", name="Waiting rooms")).to_be_visible()

    # Create a room through the form; a bad value first gets the API's own message.
    await page.get_by_role("link", name="New room", exact=True).first.click()
    await page.get_by_label("Name").fill("launch")
    await page.get_by_label("Host").fill(HOST)
    await page.get_by_label("Users on the site at once").fill("0")
    await page.get_by_label("New users let in per minute").fill(str(LIMIT))
    await page.get_by_role("button", name="Create room").click()
    await expect(page.locator("#total_active_users-error")).to_contain_text("greater than or equal to 1")
    await page.get_by_label("Users on the site at once").fill(str(LIMIT))
    await page.get_by_role("button", name="Create room").click()
    await expect(page.get_by_role("status")).to_have_text("Created.")
    await expect(page.get_by_role("heading", name="launch")).to_be_visible()
    room_url = page.url.split("?")[0]

    # Change the limit.
    await page.get_by_role("link", name="Edit settings").click()
    await page.get_by_label("Users on the site at once").fill(str(2 * LIMIT))
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text("Saved.")
    await expect(page.locator("#live")).to_contain_text(f"/ {2 * LIMIT}")

    # Queue-all on and off, each behind the browser's confirmation.
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.get_by_role("button", name="Queue everyone (queue-all)").click()
    await expect(page.get_by_role("status")).to_contain_text("Queue-all is on")
    await expect(page.locator("#live-status")).to_contain_text("queue-all")
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.dismiss()))
    await page.get_by_role("button", name="Turn queue-all off").click()
    await expect(page.locator("#live-status")).to_contain_text("queue-all")  # dismissed: nothing changed
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.get_by_role("button", name="Turn queue-all off").click()
    await expect(page.get_by_role("status")).to_contain_text("Queue-all is off")

    # A bounded surge: the live figures and the charts follow it without a reload.
    await page.goto(room_url)
    crowd = asyncio.ensure_future(run_crowd(deployment, visitors=60, arrive_over_s=3, duration_s=25))
    await expect(page.locator("#live-queued")).not_to_have_text("0", timeout=20_000)
    active = page.locator('[data-chart="active"]')
    await expect(active).not_to_have_attribute("data-latest", "null", timeout=25_000)
    await expect(page.locator('[data-chart="admitted"]')).not_to_have_attribute("data-latest", "null")
    assert int(await active.get_attribute("data-latest") or 0) > 0
    await page.wait_for_timeout(6000)  # one more refresh, so that the screenshot shows the queue growing
    await page.screenshot(path=str(shots / "dashboard-desktop.png"), full_page=True)
    phone = await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    phone_page = await phone.new_page()
    await _sign_in(phone_page, root, deployment.token)
    await phone_page.goto(room_url)
    await expect(phone_page.locator('[data-chart="active"]')).not_to_have_attribute("data-latest", "null")
    await phone_page.screenshot(path=str(shots / "dashboard-phone.png"), full_page=False)
    overflow = await phone_page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the room page scrolls sideways on a phone"
    await phone.close()
    result = await crowd
    assert result.server_errors() == 0 and result.admitted
    await context.close()
    assert errors == []


async def test_refusals_a_read_token_and_a_post_without_csrf(
    deployment: Deployment, browser: Browser, tmp_path: Path
) -> None:
    """A read token sees the room with no buttons and is refused if it posts; a post without CSRF is refused."""
    root = _root(deployment)
    data = ["--data-dir", str(tmp_path / "data"), "--database-url", f"sqlite:///{tmp_path / 'store.db'}"]
    made = await asyncio.to_thread(cli, "tokens", "create", "--scope", "read", "--name", "watcher", *data, "--json")
    read = json.loads(made)["token"]
    room = deployment.sdk().waiting_rooms.create(
        zone_id=deployment.zone_id, host=HOST, name="watched", new_users_per_minute=LIMIT, total_active_users=LIMIT
    )
    assert room is not None
    room_path = f"/dashboard/zones/{deployment.zone_id}/rooms/{room.id}"
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    await _sign_in(page, root, read)
    await page.goto(root + room_path)
    await expect(page.get_by_role("heading", name="watched")).to_be_visible()
    await expect(page.get_by_text("read only")).to_be_visible()
    assert await page.get_by_role("button", name="Queue everyone (queue-all)").count() == 0
    csrf = await page.locator('input[name="csrf"]').first.get_attribute("value")
    refused = await page.request.post(
        root + room_path + "/emergency", form={"csrf": csrf or "", "action": "suspend", "confirmed": "yes"}
    )
    assert refused.status == 403 and "read-only" in await refused.text()
    await context.close()

    writer = await browser.new_context(viewport=DESKTOP)
    page = await writer.new_page()
    await _sign_in(page, root, deployment.token)
    no_csrf = await page.request.post(root + room_path + "/emergency", form={"action": "suspend", "confirmed": "yes"})
    assert no_csrf.status == 403
    status = deployment.sdk().waiting_rooms.get(room.id, zone_id=deployment.zone_id)
    assert status is not None and status.suspended is False
    await writer.close()


# WCAG 2 contrast of every element that shows text of its own, against the first opaque
# background behind it (a text colour with alpha is blended onto that background).
CONTRAST_JS = """() => {
  const rgba = (text) => (text.match(/[\\d.]+/g) || [0, 0, 0, 0]).map(Number).concat([1]).slice(0, 4);
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const backdrop = (el) => {
    for (let at = el; at; at = at.parentElement) {
      const bg = rgba(getComputedStyle(at).backgroundColor);
      if (bg[3] > 0.5) return bg;
    }
    return [255, 255, 255, 1];
  };
  const low = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const style = getComputedStyle(el);
    if (!own || style.visibility === "hidden" || el.getClientRects().length === 0) continue;
    if (el.closest(".sr-only, [aria-hidden=true], script, style, noscript")) continue;
    const bg = backdrop(el);
    const fg = rgba(style.color);
    const mixed = fg.slice(0, 3).map((c, i) => c * fg[3] + bg[i] * (1 - fg[3]));
    const [a, b] = [lum(mixed), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    const said = el.textContent.trim().slice(0, 30);
    if (ratio < (large ? 3 : 4.5)) low.push(`${el.tagName}.${el.className} "${said}" ${ratio.toFixed(2)}`);
  }
  return low;
}"""

# Form controls a screen reader would announce with no name.
UNLABELLED_JS = """() => [...document.querySelectorAll("input, select, textarea, button")]
  .filter((el) => el.type !== "hidden" && el.getClientRects().length > 0)
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
                  && !el.getAttribute("aria-labelledby") && !(el.tagName === "BUTTON" && el.textContent.trim()))
  .map((el) => el.outerHTML.slice(0, 80))"""


async def _tab_to(page: Page, selector: str, limit: int = 40) -> None:
    """Press Tab until the element matching ``selector`` has the focus, and check that the focus shows."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            shown = await page.evaluate(
                "() => { const s = getComputedStyle(document.activeElement);"
                " return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none'; }"
            )
            assert shown, f"{selector} has the focus but shows no focus ring"
            return
    raise AssertionError(f"Tab never reached {selector}")


async def test_the_dashboard_works_by_keyboard_with_labels_and_readable_contrast(
    deployment: Deployment, browser: Browser
) -> None:
    """Sign in and switch queue-all by keyboard; every page's controls have names, its text WCAG AA contrast."""
    root = _root(deployment)
    room = deployment.sdk().waiting_rooms.create(
        zone_id=deployment.zone_id, host=HOST, name="keys", new_users_per_minute=LIMIT, total_active_users=LIMIT
    )
    assert room is not None
    room_path = f"/dashboard/zones/{deployment.zone_id}/rooms/{room.id}"
    for viewport in (DESKTOP, PHONE):
        context = await browser.new_context(viewport=viewport)
        page = await context.new_page()
        await page.goto(root + "/dashboard/sign-in")
        await _tab_to(page, "#secret")
        await page.keyboard.type(deployment.token)
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", name="Waiting rooms")).to_be_visible()
        for path in ("/dashboard/sign-in", "/dashboard/rooms", "/dashboard/rooms/new", room_path,
                     room_path + "/edit", room_path + "/events/new", room_path + "/rules/new",
                     room_path + "/preview"):  # fmt: skip
            await page.goto(root + path)
            assert await page.evaluate(UNLABELLED_JS) == [], path
            assert await page.evaluate(CONTRAST_JS) == [], path
        await page.goto(root + room_path)
        await _tab_to(page, 'form[data-confirm] button[type="submit"]')
        page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("status")).to_contain_text("Queue-all is on")
        page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await page.get_by_role("button", name="Turn queue-all off").press("Enter")
        await expect(page.get_by_role("status")).to_contain_text("Queue-all is off")
        await context.close()
