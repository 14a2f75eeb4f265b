"""The default pages in a real browser: headless Chromium renders them to a PNG."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from antechamber.templates.page import render_queue_page, render_reject_page
from antechamber.templates.screenshots import DESKTOP, MOBILE, Viewport, capture_language, screenshot
from tests import services
from tests.templates.pages import PREQUEUE, QUEUE_FULL

pytestmark = pytest.mark.browser

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _distinct_colours(path: Path) -> int:
    from PIL import Image  # matplotlib's own dependency, so always installed with ours

    with Image.open(path) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    return len(colours) if colours is not None else 1 << 16


@pytest.fixture(scope="module")
def chromium() -> str:
    """The headless browser binary (skips outside CI when it is missing)."""
    return services.chromium_binary()


def test_queue_page_screenshots(chromium: str, tmp_path: Path) -> None:
    """English, Japanese and Arabic queue pages render at desktop and mobile sizes with real content."""
    for language in ("en-US", "ja-JP", "ar-EG"):
        desktop, mobile = capture_language(chromium, language, tmp_path)
        assert (DESKTOP.width, DESKTOP.height) == _png_size(desktop)
        assert (MOBILE.width * MOBILE.scale, MOBILE.height * MOBILE.scale) == _png_size(mobile)
        # A blank or error page has a handful of colours; anti-aliased text has hundreds.
        assert _distinct_colours(desktop) > 100, language
        assert desktop.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("name", "html"),
    [
        ("prequeue-de", render_queue_page(PREQUEUE, language="de-DE")),
        ("full-th", render_queue_page(QUEUE_FULL, language="th-TH")),
        ("reject-he", render_reject_page("he-IL")),
    ],
)
def test_other_states_render(chromium: str, tmp_path: Path, name: str, html: str) -> None:
    """Prequeue, queue-full and reject pages also render to non-trivial PNGs."""
    page = tmp_path / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    png = screenshot(chromium, page.as_uri(), tmp_path / f"{name}.png", Viewport("", 800, 600))
    assert (800, 600) == _png_size(png)
    assert _distinct_colours(png) > 50
