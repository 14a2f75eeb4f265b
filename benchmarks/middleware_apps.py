"""The hello apps the middleware benchmark serves: each plain, and wrapped in the waiting room.

Starlette, FastAPI, Litestar and Quart (ASGI), Flask (WSGI) and Django (both), each
wrapped the way docs/EMBED.md says. ``BENCH_WRAPPED=1`` wraps it; the room (given in
code, in ``BENCH_DATA_DIR``) covers every path of ``bench.example.com`` and lets everyone
in, so each measured request is an admitted visitor's: the case the 0.9 x target is about.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from fastapi import FastAPI
from flask import Flask
from litestar import Litestar, get
from quart import Quart
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


fastapi_app = FastAPI()


@fastapi_app.get("/{path:path}")
async def _fastapi_hello(path: str) -> PlainTextResponse:
    return PlainTextResponse("hello")


if WRAPPED:
    fastapi_app.add_middleware(WaitingRoom, **OPTIONS)


@get(["/", "/{path:path}"], media_type="text/plain")
async def _litestar_hello() -> str:
    return "hello"


litestar_app: Any = Litestar(route_handlers=[_litestar_hello])
if WRAPPED:
    litestar_app = WaitingRoom(litestar_app, **OPTIONS)

quart_app = Quart(__name__)


@quart_app.route("/", defaults={"path": ""})
@quart_app.route("/<path:path>")
async def _quart_hello(path: str) -> str:
    return "hello"


if WRAPPED:
    quart_app.asgi_app = WaitingRoom(quart_app.asgi_app, **OPTIONS)  # type: ignore[method-assign]


def _django_hello(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse("hello", content_type="text/plain")


def _django_urls() -> list[Any]:
    from django.urls import re_path

    return [re_path(r"^.*$", _django_hello)]


# Django's settings in code (no project directory): the two lines EMBED.md gives, when wrapped.
settings.configure(
    SECRET_KEY="bench-only",
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=["antechamber.middleware.django.WaitingRoomMiddleware"] if WRAPPED else [],
    ANTECHAMBER=OPTIONS,
    INSTALLED_APPS=[],
    DATABASES={},
    USE_TZ=True,
)
urlpatterns = _django_urls()


def __getattr__(name: str) -> Any:
    # Django's entry points, built on first use (each server imports only its own).
    if name == "django_wsgi":
        from django.core.wsgi import get_wsgi_application

        return get_wsgi_application()
    if name == "django_asgi":
        from django.core.asgi import get_asgi_application

        return get_asgi_application()
    raise AttributeError(name)
