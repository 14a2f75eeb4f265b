"""The waiting room as pure ASGI middleware: FastAPI, Starlette, Litestar, Quart, Django's ASGI app, any ASGI app.

Two lines::

    from antechamber.middleware import WaitingRoom
    app.add_middleware(WaitingRoom, config="antechamber.toml")   # Starlette, FastAPI

or ``app = WaitingRoom(app, config=...)`` for any other ASGI app. Each HTTP request
(and WebSocket upgrade) on a room's routes is decided by the gateway's own request
path (:mod:`antechamber.gateway.request_path`): the queue page, JSON, the
``/.antechamber/*`` endpoints are answered here, and an admitted visitor's request
goes on to the app, whose answer gets the room cookie and loses any
``Cf-Waiting-Room-Command`` header (``revoke`` ends the session).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from pathlib import Path
from typing import Any

from antechamber.gateway.pages import Reply, send_reply
from antechamber.gateway.proxy import COMMAND_HEADER, response_headers
from antechamber.gateway.request_path import Deferred
from antechamber.gateway.websocket import refuse
from antechamber.middleware.node import UNTOUCHED, AppNode, NodeHandle, Onward
from antechamber.middleware.options import Options

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
#: Any ASGI app. (Typed loosely on purpose: Litestar and Quart type their scopes and
#: messages as TypedDicts, which ``MutableMapping`` parameters would refuse under mypy.)
ASGIApp = Any

_KEEP_ALL: frozenset[bytes] = frozenset()


class WaitingRoom:
    """ASGI middleware: ``WaitingRoom(app, config="antechamber.toml", **options)`` (see :class:`Options`)."""

    # ``app`` positional-only, so that Starlette's typed ``add_middleware`` (a ParamSpec
    # protocol with ``app, /``) accepts the class under mypy --strict; Litestar's
    # ``DefineMiddleware`` passes it by keyword, which lands in ``options``.
    def __init__(self, app: ASGIApp = None, /, config: str | Path | None = None, **options: Any) -> None:
        if app is None:
            app = options.pop("app", None)
            if app is None:
                raise TypeError("WaitingRoom needs the ASGI app it wraps: WaitingRoom(app, config=...)")
        self.app = app
        self.options = Options.of(config, **options)
        self.node = NodeHandle(self.options)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:  # (Any: see ASGIApp)
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)  # lifespan and the rest: the app's own
            return
        node = self.node.get()
        if kind == "http" and node.passes(scope):
            # Most requests: an admitted visitor's, which changes nothing (no decision to make, no cookie).
            await self.app(scope, receive, _undecided_answer(send, node, scope))
            return
        if not node.is_ready:
            await node.started()  # a process's first request waits for the start (off this loop)
        action = node.decide(scope) if kind == "http" else node.decide_websocket(scope)
        if isinstance(action, Deferred):
            action = await node.asettle(action)
        if isinstance(action, Reply):
            if kind == "http":
                await send_reply(send, action, head_only=scope["method"] == "HEAD")
            else:
                await receive()  # the upgrade request (websocket.connect), answered with the page
                await refuse(scope, send, action)
            return
        if action.verdict is None:
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _answer_with(send, node, action))


def _undecided_answer(send: Send, node: AppNode, scope: Scope) -> Send:
    """``send`` for a request let through undecided: only an answer with an origin command needs the decision."""

    # A plain function handing back send's awaitable, not a coroutine of its own: no frame
    # to create and resume for each message of most answers.
    def answer(message: Message) -> Awaitable[None]:
        if message["type"] == "http.response.start" and _has_command(message.get("headers", ())):
            action = node.decide(scope)  # a session's unchanged request: decided now, to act on the command
            onward = action if isinstance(action, Onward) else UNTOUCHED
            message = {**message, "headers": _answer_headers(message, node, onward)}
        return send(message)

    return answer


def _answer_headers(message: Message, node: AppNode, onward: Onward) -> list[tuple[bytes, bytes]]:
    """The app's answer's headers with the room cookie added and the origin command acted on and removed."""

    def on_command(value: bytes) -> tuple[bytes, ...]:
        return node.command(onward, value)

    return response_headers(message.get("headers") or [], onward.cookies, on_command, drop=_KEEP_ALL)


def _answer_with(send: Send, node: AppNode, onward: Onward) -> Send:
    """``send`` with the room cookie added to the app's answer and its origin command acted on."""

    async def answer(message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start" or kind == "websocket.accept":
            headers = message.get("headers") or []
            # An admitted visitor's ordinary answer (no cookie to add, no command) goes out as it is.
            if onward.cookies or _has_command(headers):
                message = {**message, "headers": _answer_headers(message, node, onward)}
        await send(message)

    return answer


_COMMAND_LENGTH = len(COMMAND_HEADER)


def _has_command(headers: Iterable[tuple[bytes, bytes]] | None) -> bool:
    # A loop, not any() over a generator, and a name lowered only when its length fits:
    # this runs on every admitted answer.
    for name, _ in headers or ():
        if len(name) == _COMMAND_LENGTH and name.lower() == COMMAND_HEADER:
            return True
    return False
