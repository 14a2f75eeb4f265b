"""The hello apps the middleware benchmark serves: each plain, and wrapped in the waiting room.

``BENCH_WRAPPED=1`` wraps it; the room (given in code, in ``BENCH_DATA_DIR``) covers every
path of ``bench.example.com`` and lets everyone in, so each measured request is an
admitted visitor's: the case the 0.9 x target is about.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from antechamber.middleware import WaitingRoom, WsgiWaitingRoom

HOST = "bench.example.com"
WRAPPED = os.environ.get("BENCH_WRAPPED") == "1"
OPTIONS: dict[str, Any] = {
    "room": {"host": HOST, "total_active_users": 100_000, "new_users_per_minute": 100_000},
    "data_dir": os.environ.get("BENCH_DATA_DIR", ".antechamber-bench"),
}


async def _hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


starlette_app: Any = Starlette(routes=[Route("/{path:path}", _hello)])
if WRAPPED:
    starlette_app = WaitingRoom(starlette_app, **OPTIONS)

flask_app = Flask(__name__)


@flask_app.route("/", defaults={"path": ""})
@flask_app.route("/<path:path>")
def _flask_hello(path: str) -> str:
    return "hello"


if WRAPPED:
    flask_app.wsgi_app = WsgiWaitingRoom(flask_app.wsgi_app, **OPTIONS)  # type: ignore[method-assign]
