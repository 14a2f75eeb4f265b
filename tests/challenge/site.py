"""A stand-in for the gateway's side of the challenge: a page with the widget and its two endpoints.

It follows the flow in ``antechamber.challenge.widget``: the page sets a visitor
cookie (the room cookie's stand-in) and embeds the markup; ``GET /.antechamber/challenge``
issues a challenge bound to that cookie; ``POST /.antechamber/challenge/verify``
redeems the widget's answer with the real :class:`Altcha` and used-set, and on a pass
sets a ``passed`` cookie, after which the page says so instead of showing the widget.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from antechamber.challenge.altcha import Altcha
from antechamber.challenge.result import Result
from antechamber.challenge.spent import MemorySpentSet, SpentSet
from antechamber.challenge.widget import ALTCHA_SCRIPT_FILE, SOLUTION_HEADER, Endpoints, altcha_widget
from antechamber.core.types import TurnstileMode
from tests.challenge.support import ROOM, now_ms

VISITOR_COOKIE = "visitor"

# Records the widget's state changes and whether it was on screen at each, in
# sessionStorage: the page reloads once the widget passes, and the test reads them after.
PROBE = """<script>
(function (widget) {
  if (!widget) return;
  widget.addEventListener("statechange", function (event) {
    var box = widget.querySelector(".altcha");
    var rect = box ? box.getBoundingClientRect() : {width: 0, height: 0};
    var shown = !!box && getComputedStyle(box).display !== "none" && rect.width > 0 && rect.height > 0;
    var seen = JSON.parse(sessionStorage.getItem("seen") || "[]");
    seen.push({state: event.detail.state, rendered: !!box, shown: shown});
    sessionStorage.setItem("seen", JSON.stringify(seen));
  });
})(document.querySelector("altcha-widget"));
</script>"""


@dataclass
class Redemption:
    """One answer the verify endpoint received."""

    visitor: str
    result: Result
    solve_ms: float | None
    at: float = field(default_factory=time.monotonic)


@dataclass
class ChallengeSite:
    """The app and what it saw (read by the tests)."""

    altcha: Altcha
    mode: TurnstileMode
    spent: SpentSet = field(default_factory=MemorySpentSet)
    issued: list[dict[str, Any]] = field(default_factory=list)
    redeemed: list[Redemption] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/", self.page),
                Route("/.antechamber/challenge/altcha.i18n.min.js", self.script),
                Route("/.antechamber/challenge", self.challenge),
                Route("/.antechamber/challenge/verify", self.verify, methods=["POST"]),
            ]
        )

    async def page(self, request: Request) -> Response:
        visitor = request.cookies.get(VISITOR_COOKIE) or secrets.token_hex(8)
        if request.cookies.get("passed") == visitor:
            body = '<p id="state">passed</p>'
        else:
            body = '<p id="state">waiting</p>' + altcha_widget(self.mode, ROOM, endpoints=Endpoints()) + PROBE
        page = f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>queue</title></head><body>{body}'
        response = HTMLResponse(page + "</body></html>", headers={"cache-control": "no-store"})
        response.set_cookie(VISITOR_COOKIE, visitor, httponly=True, samesite="lax")
        return response

    async def script(self, request: Request) -> Response:
        source = resources.files("antechamber.challenge").joinpath(ALTCHA_SCRIPT_FILE).read_bytes()
        return Response(source, media_type="text/javascript")

    async def challenge(self, request: Request) -> Response:
        visitor = request.cookies.get(VISITOR_COOKIE)
        if not visitor or request.query_params.get("room") != ROOM:
            return JSONResponse({"error": "no visitor"}, status_code=403)
        issued = self.altcha.issue(ROOM, visitor, now_ms=now_ms())
        self.issued.append(issued)
        return JSONResponse(issued, headers={"cache-control": "no-store"})

    async def verify(self, request: Request) -> Response:
        visitor = request.cookies.get(VISITOR_COOKIE, "")
        payload = request.headers.get(SOLUTION_HEADER, "")
        result = await self.altcha.redeem(payload, ROOM, visitor, now_ms=now_ms(), spent=self.spent)
        self.redeemed.append(Redemption(visitor, result, _solve_ms(payload)))
        response = JSONResponse({"verified": result.passed, "reason": ",".join(result.reasons)})
        if result.passed:
            response.set_cookie("passed", visitor, httponly=True, samesite="lax")
        return response


def _solve_ms(payload: str) -> float | None:
    """The solve time the widget's workers report inside the payload."""
    try:
        solved = json.loads(base64.b64decode(payload))["solution"].get("time")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return float(solved) if isinstance(solved, int | float) else None
