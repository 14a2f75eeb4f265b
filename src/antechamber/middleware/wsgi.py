"""The waiting room as WSGI middleware: Flask and any WSGI app, under any WSGI server.

Two lines::

    from antechamber.middleware import WsgiWaitingRoom
    app.wsgi_app = WsgiWaitingRoom(app.wsgi_app, config="antechamber.toml")   # Flask

No event loop runs in the request's thread: the decision is made there, and the
background work (the config follower, the Redis merge, a slot drawn from Redis) runs
on the node's own thread (:mod:`antechamber.middleware.node`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from antechamber.gateway.pages import Reply
from antechamber.gateway.proxy import COMMAND_HEADER
from antechamber.gateway.request_path import Deferred
from antechamber.middleware.environ import scope_from_environ
from antechamber.middleware.node import UNTOUCHED, AppNode, NodeHandle, Onward
from antechamber.middleware.options import Options

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_COMMAND = COMMAND_HEADER.decode("latin-1")


def status_line(status: int) -> str:
    """``"429 Too Many Requests"`` for 429 (WSGI wants the reason phrase too)."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def reply_headers(reply: Reply) -> list[tuple[str, str]]:
    """A reply's headers as WSGI's native strings, with its length."""
    headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in reply.headers]
    headers.append(("Content-Length", str(len(reply.body))))
    return headers


class WsgiWaitingRoom:
    """WSGI middleware: ``WsgiWaitingRoom(app, config="antechamber.toml", **options)`` (see :class:`Options`)."""

    def __init__(self, app: WSGIApp, config: str | Path | None = None, **options: Any) -> None:
        self.app = app
        self.options = Options.of(config, **options)
        self.node = NodeHandle(self.options)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        node = self.node.ready()
        if node.passes_environ(environ):
            # Most requests: an admitted visitor's, which changes nothing (no decision to make, no cookie).
            return self.app(environ, _undecided_start(start_response, node, environ))
        action = node.decide(scope_from_environ(environ))
        if isinstance(action, Deferred):
            action = node.settle(action)
        if isinstance(action, Reply):
            start_response(status_line(action.status), reply_headers(action))
            return [] if environ.get("REQUEST_METHOD") == "HEAD" else [action.body]
        if action.verdict is None:
            return self.app(environ, start_response)
        return self.app(environ, _start_with(start_response, node, action))


def _undecided_start(start_response: StartResponse, node: AppNode, environ: dict[str, Any]) -> StartResponse:
    """``start_response`` for a request let through undecided: only an origin command needs the decision."""

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if any(name.lower() == _COMMAND for name, _ in headers):
            action = node.decide(scope_from_environ(environ))  # a session's unchanged request, decided now
            onward = action if isinstance(action, Onward) else UNTOUCHED
            return _start_with(start_response, node, onward)(status, headers, exc_info)
        return start_response(status, headers, exc_info)

    return start


def _start_with(start_response: StartResponse, node: AppNode, onward: Onward) -> StartResponse:
    """``start_response`` with the room cookie added and the app's origin command acted on."""

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        cookies = onward.cookies
        if any(name.lower() == _COMMAND for name, _ in headers):
            command = ",".join(value for name, value in headers if name.lower() == _COMMAND)
            cookies = node.command(onward, command.encode("latin-1"))
            headers = [(name, value) for name, value in headers if name.lower() != _COMMAND]
        if cookies:
            headers = [*headers, *(("Set-Cookie", cookie.decode("latin-1")) for cookie in cookies)]
        return start_response(status, headers, exc_info)

    return start
