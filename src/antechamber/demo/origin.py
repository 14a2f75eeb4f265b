"""The demo's origin: a tiny shop as a plain ASGI app, so a visitor can see that they got in.

Every page says it came from the shop (not from the waiting room), whether the
request came through the gateway, and links to the other pages so that a session can be browsed.
"""

from __future__ import annotations

import html
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

PRODUCTS = {
    "lantern": ("Brass lantern", "Lights the way to the front of the line.", "24.00"),
    "armchair": ("Waiting-room armchair", "Surprisingly comfortable for the wait.", "189.00"),
    "hourglass": ("Hourglass", "Measures about one session_duration.", "12.50"),
    "ticket": ("Numbered ticket roll", "First in, first out, to the second.", "4.99"),
}

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;color:#222}"
    ".in{background:#e7f6ec;border:1px solid #9ad1ad;padding:.75rem 1rem;border-radius:.5rem}"
    "nav a{margin-right:1rem}li{margin:.4rem 0}small{color:#666}"
)


class DemoShop:
    """The ASGI app; counts the pages it served (shown on each page)."""

    def __init__(self) -> None:
        self.pages_served = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan and WebSocket are not used by the shop
        status, title, body = self.page(scope["path"])
        if status == 200:
            self.pages_served += 1
        document = self.layout(title, body, came_through_gateway(scope)).encode()
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(document)).encode()),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else document})

    def page(self, path: str) -> tuple[int, str, str]:
        """(status, title, inner HTML) for ``path``."""
        if path == "/":
            items = "".join(
                f'<li><a href="/product/{slug}">{html.escape(name)}</a> <small>${price}</small></li>'
                for slug, (name, _about, price) in PRODUCTS.items()
            )
            return 200, "Antechamber demo shop", f"<h2>Today's goods</h2><ul>{items}</ul>"
        if path.startswith("/product/") and path.removeprefix("/product/") in PRODUCTS:
            name, about, price = PRODUCTS[path.removeprefix("/product/")]
            return 200, name, f"<p>{html.escape(about)}</p><p><b>${price}</b> <a href='/cart'>Add to cart</a></p>"
        if path == "/cart":
            return (
                200,
                "Your cart",
                "<p>One item, reserved while your session lasts.</p><a href='/checkout'>Check out</a>",
            )
        if path == "/checkout":
            return 200, "Thank you", "<p>Order placed. Leave now and your place frees up for the next visitor.</p>"
        return 404, "Not found", "<p>No such page in this little shop.</p>"

    def layout(self, title: str, body: str, via_gateway: bool) -> str:
        """The page around ``body``: the banner, navigation and footer."""
        banner = (
            "<p class='in'><b>You got in.</b> The waiting room let you through; "
            "your session lives in its cookie, so browse on.</p>"
            if via_gateway
            else "<p class='in'>You reached the shop directly, not through the waiting room.</p>"
        )
        served = time.strftime("%H:%M:%S")
        return (
            f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>{banner}<nav><a href='/'>Shop</a><a href='/cart'>Cart</a>"
            f"<a href='/checkout'>Checkout</a></nav><h1>{html.escape(title)}</h1>{body}"
            f"<hr><small>Served by the origin at {served}; {self.pages_served} pages so far.</small></body></html>"
        )


def came_through_gateway(scope: Scope) -> bool:
    """Whether the request came through the gateway (it always adds ``X-Forwarded-For``)."""
    return any(name == b"x-forwarded-for" for name, _value in scope["headers"])
