"""Screenshots of the default queue page, taken with headless Chromium.

Used by ``scripts/screenshots`` (writes ``docs/img/queue-<language>[-mobile].png``) and by
the browser test. Pages are written to a temporary directory and opened as ``file://``
URLs, so no server is needed.

Example::

    python -m antechamber.templates.screenshots --out docs/img --language en-US
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from antechamber.templates.page import render_queue_page

DEFAULT_LANGUAGES = ("en-US", "ja-JP", "ar-EG")

# A FIFO visitor with a known wait, as most visitors see the page.
SAMPLE_QUEUE: dict[str, Any] = {
    "inWaitingRoom": True,
    "waitTimeKnown": True,
    "waitTime": 75,
    "waitTimeFormatted": "More than 1 hour",
    "lastUpdated": "2026-11-21T15:30:12.000Z",
    "refreshIntervalSeconds": 20,
    "queueingMethod": "fifo",
}


@dataclass(frozen=True, slots=True)
class Viewport:
    """A browser window: CSS pixels and the device pixel ratio."""

    name: str
    width: int
    height: int
    scale: int = 1


DESKTOP = Viewport("", 1280, 800)
MOBILE = Viewport("-mobile", 390, 844, scale=2)


def find_chromium() -> str | None:
    """The first Chromium-like browser on PATH."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(chromium: str, url: str, png: Path, viewport: Viewport, *, timeout: float = 60.0) -> Path:
    """Load ``url`` in headless Chromium and save a PNG of the window to ``png``."""
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="antechamber-chromium-") as profile:
        # Networking extras are off so the run is quick and offline; the refresh meta
        # tag never fires because Chromium captures as soon as the page has loaded.
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--force-device-scale-factor={viewport.scale}",
                f"--window-size={viewport.width},{viewport.height}",
                f"--screenshot={png}",
                url,
            ],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
    if not png.is_file():
        raise RuntimeError(f"Chromium wrote no screenshot to {png}")
    return png


def capture_language(
    chromium: str, language: str, out_dir: Path, viewports: Sequence[Viewport] = (DESKTOP, MOBILE)
) -> list[Path]:
    """Screenshot the default queue page in ``language`` at each viewport."""
    written = []
    with tempfile.TemporaryDirectory(prefix="antechamber-page-") as tmp:
        page = Path(tmp) / f"queue-{language}.html"
        page.write_text(render_queue_page(SAMPLE_QUEUE, language=language), encoding="utf-8")
        for viewport in viewports:
            png = out_dir / f"queue-{language}{viewport.name}.png"
            written.append(screenshot(chromium, page.as_uri(), png, viewport))
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: write the screenshots, print their paths."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("docs/img"), help="output directory")
    parser.add_argument("--language", action="append", help="language to capture (repeatable)")
    parser.add_argument("--chromium", help="browser binary (default: chromium on PATH)")
    args = parser.parse_args(argv)
    chromium = args.chromium or find_chromium()
    if chromium is None:
        parser.error("no Chromium found; install it (Debian: apt-get install chromium) or pass --chromium")
    for language in args.language or DEFAULT_LANGUAGES:
        for path in capture_language(chromium, language, args.out):
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
