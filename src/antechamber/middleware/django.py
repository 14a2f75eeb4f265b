"""The waiting room as Django middleware, sync and async, under Django's WSGI or ASGI entry point.

Two lines in ``settings.py``::

    MIDDLEWARE = ["antechamber.middleware.django.WaitingRoomMiddleware", *MIDDLEWARE]
    ANTECHAMBER = {"config": BASE_DIR / "antechamber.toml"}   # or the options themselves

First in ``MIDDLEWARE``, so a queued visitor costs no session or database work. The
request is decided from what the server handed Django (the ASGI scope itself under
ASGI, the WSGI environ under WSGI), by the gateway's request path, in the request's
thread or on its event loop, never waiting on I/O (:mod:`antechamber.middleware.node`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from antechamber.gateway.pages import Reply
from antechamber.gateway.proxy import COMMAND_HEADER
from antechamber.gateway.request_path import Deferred
from antechamber.middleware.environ import scope_from_environ
from antechamber.middleware.node import UNTOUCHED, AppNode, NodeHandle, Onward
from antechamber.middleware.options import Options

GetResponse = Callable[[HttpRequest], Any]

_COMMAND = COMMAND_HEADER.decode("latin-1")
#: One node per process, however many handlers Django builds (each builds its middleware chain).
_handles: dict[str, NodeHandle] = {}


def _handle() -> NodeHandle:
    configured = dict(getattr(settings, "ANTECHAMBER", {}))
    options = Options.of(configured.pop("config", None), **configured)
    key = repr(options)
    if key not in _handles:
        _handles[key] = NodeHandle(options)
    return _handles[key]


def _scope(request: HttpRequest) -> Any:
    scope = getattr(request, "scope", None)
    if scope is not None:
        return scope  # ASGIRequest: the server's own scope
    return scope_from_environ(request.META, path=request.path)


def _response(reply: Reply, request: HttpRequest) -> HttpResponse:
    response = HttpResponse(b"" if request.method == "HEAD" else reply.body, status=reply.status)
    cookies = []
    for name, value in reply.headers:
        if name == b"set-cookie":
            cookies.append(value)
        else:
            response.headers[name.decode("latin-1")] = value.decode("latin-1")
    _set_cookies(response, tuple(cookies))
    return response


def _set_cookies(response: HttpResponseBase, cookies: tuple[bytes, ...]) -> None:
    # Django writes Set-Cookie lines only from response.cookies: load each whole line there.
    for cookie in cookies:
        response.cookies.load(SimpleCookie(cookie.decode("latin-1")))


def _passes(node: AppNode, request: HttpRequest) -> bool:
    """An admitted visitor's ordinary request, known to change nothing (:meth:`AppNode.passes`)."""
    scope = getattr(request, "scope", None)
    return node.passes(scope) if scope is not None else node.passes_environ(request.META, request.path)


def _finish_undecided(response: HttpResponseBase, node: AppNode, request: HttpRequest) -> HttpResponseBase:
    """A response to a request let through undecided: only an origin command needs the decision, made now."""
    if _COMMAND in response.headers:
        action = node.decide(_scope(request))
        _finish(response, node, action if isinstance(action, Onward) else UNTOUCHED)
    return response


def _finish(response: HttpResponseBase, node: AppNode, onward: Onward) -> None:
    command = response.headers.get(_COMMAND)
    if command is not None:
        del response.headers[_COMMAND]  # (ResponseHeaders.pop hands back the stored pair, not the value)
    cookies = onward.cookies if command is None else node.command(onward, command.encode("latin-1"))
    _set_cookies(response, cookies)


class WaitingRoomMiddleware:
    """Django middleware (sync and async capable), configured by ``settings.ANTECHAMBER`` (see :class:`Options`)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.node = _handle()
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        node = self.node.ready()
        if _passes(node, request):
            return _finish_undecided(self.get_response(request), node, request)
        action = node.decide(_scope(request))
        if isinstance(action, Deferred):
            action = node.settle(action)
        if isinstance(action, Reply):
            return _response(action, request)
        response = self.get_response(request)
        if action.verdict is not None:
            _finish(response, node, action)
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        node = self.node.get()
        await node.started()
        get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = self.get_response
        if _passes(node, request):
            return _finish_undecided(await get_response(request), node, request)
        action = node.decide(_scope(request))
        if isinstance(action, Deferred):
            action = await node.asettle(action)
        if isinstance(action, Reply):
            return _response(action, request)
        response = await get_response(request)
        if action.verdict is not None:
            _finish(response, node, action)
        return response
