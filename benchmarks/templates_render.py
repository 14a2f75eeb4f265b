"""How long the queue page takes to render: default page, custom template, reject page.

Run: ``.venv/bin/python benchmarks/templates_render.py``. Prints µs per page; speed is
shown here, never asserted in the tests.
"""

from __future__ import annotations

import time

from antechamber.templates.page import render_queue_page, render_reject_page

INFO = {
    "waitTimeKnown": True,
    "waitTime": 75,
    "waitTimeFormatted": "1 hour 15 minutes",
    "queueingMethod": "fifo",
    "isFIFOQueue": True,
    "lastUpdated": "2026-11-21T15:30:12.000Z",
    "refreshIntervalSeconds": 20,
}
CUSTOM = "<html><body><h1>{{waitTime}} min</h1>{{#queueIsFull}}full{{/queueIsFull}}{{{turnstile}}}</body></html>"


def per_call_us(render: object, runs: int = 2000) -> float:
    """Mean microseconds per call of a zero-argument callable, after one warm-up call."""
    assert callable(render)
    render()
    start = time.perf_counter()
    for _ in range(runs):
        render()
    return (time.perf_counter() - start) / runs * 1e6


def main() -> None:
    """Print the render cost of each page kind side by side."""
    rows = {
        "default page, en-US": lambda: render_queue_page(INFO, language="en-US"),
        "default page, ar-EG": lambda: render_queue_page(INFO, language="ar-EG"),
        "custom template": lambda: render_queue_page(INFO, language="en-US", custom_html=CUSTOM),
        "reject page (cached)": lambda: render_reject_page("en-US"),
    }
    for name, render in rows.items():
        print(f"{name:<24} {per_call_us(render):8.1f} µs")


if __name__ == "__main__":
    main()
