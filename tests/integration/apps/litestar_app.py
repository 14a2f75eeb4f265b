"""A Litestar app wrapped in the ASGI middleware (``app = WaitingRoom(app, ...)``, as for any ASGI app)."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response, get

from antechamber.middleware import WaitingRoom
from tests.integration.apps.common import OPTIONS, record


@get(["/", "/{path:path}"])
async def anything(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    query = request.url.query
    answer = record(request.method, request.url.path + (f"?{query}" if query else ""), await request.body())
    response = Response(answer)
    response.set_cookie("app_session", "abc", path="/")
    return response


app = WaitingRoom(Litestar(route_handlers=[anything]), **OPTIONS)
