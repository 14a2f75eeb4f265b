"""``antechamber serve``: the management API and the gateway in one process and one event loop.

Both share one in-process :class:`~antechamber.state.memory.MemoryState`, so the
API's status endpoint reports the numbers the gateway enforces, and the gateway
follows the store the API writes (changes in force within 2 s, DESIGN section 4).
Each listener is its own ``uvicorn.Server``; SIGINT/SIGTERM stop them all
gracefully (a second SIGINT forces the exit), and if one stops the rest follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI

from antechamber.api.app import create_app
from antechamber.core.cookie import CookieCodec
from antechamber.db.engine import Database
from antechamber.gateway.app import Gateway, create_gateway
from antechamber.gateway.follower import ConfigFollower
from antechamber.gateway.live_status import StateStatusSource
from antechamber.gateway.upstream import UpstreamPool
from antechamber.keystore import load_or_create_keys
from antechamber.settings import Settings, parse_bind
from antechamber.state.memory import MemoryState

logger = logging.getLogger("antechamber.server")


class BindError(RuntimeError):
    """A listener's address cannot be bound (in use, or not a local address)."""


@dataclass(frozen=True, slots=True)
class Listener:
    """One ASGI app on one address; ``options`` go to ``uvicorn.Config``.

    ``raw`` serves a :class:`Gateway` with its own HTTP/1.1 front end
    (:mod:`antechamber.gateway.raw`) instead of uvicorn.
    """

    name: str
    app: Any
    bind: str
    options: dict[str, Any] = field(default_factory=dict)
    raw: bool = False


@dataclass(frozen=True, slots=True)
class Stack:
    """The running parts ``serve`` wires together."""

    database: Database
    follower: ConfigFollower
    state: MemoryState
    api: FastAPI
    gateway: Gateway

    def listeners(self, settings: Settings) -> list[Listener]:
        """The API and the gateway on their configured addresses."""
        return [
            Listener("API", self.api, settings.api),
            # The gateway applies its own trusted-proxy list, so uvicorn must not rewrite the peer.
            Listener(
                "gateway",
                self.gateway,
                settings.gateway,
                {"proxy_headers": False, "lifespan": "off"},
                raw=settings.gateway_server == "raw",
            ),
        ]


@contextlib.asynccontextmanager
async def running_stack(settings: Settings) -> AsyncIterator[Stack]:
    """Open and migrate the store, load the cookie keys, start following the config; close it all after."""
    settings.prepare_data_dir()
    database = Database(settings.resolved_database_url())
    try:
        await database.migrate()
        settings.prepare_data_dir()  # the SQLite file may have just been created: tighten it
        codec = CookieCodec(load_or_create_keys(settings.data_dir))
        follower = ConfigFollower(database)
        await follower.start()
        try:
            state = MemoryState()
            api = create_app(database, StateStatusSource(state, follower), min_users=settings.min_user_limit)
            gateway = create_gateway(
                follower,
                state,
                codec,
                UpstreamPool(),
                default_origin=settings.origin,
                origins=settings.origin_for,
                trusted_proxies=settings.trusted_proxies,
            )
            try:
                yield Stack(database, follower, state, api, gateway)
            finally:
                await gateway.aclose()
        finally:
            await follower.aclose()
    finally:
        await database.dispose()


def bind_socket(bind: str) -> socket.socket:
    """A listening-ready TCP socket on ``HOST:PORT``; raises :class:`BindError` with a readable reason."""
    host, port = parse_bind(bind)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _name, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise BindError(f"cannot listen on {bind}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise BindError(f"cannot listen on {bind}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def bind_all(binds: Sequence[str]) -> list[socket.socket]:
    """Bind every address, or none: a port in use fails fast, before anything has started."""
    sockets: list[socket.socket] = []
    try:
        for bind in binds:
            sockets.append(bind_socket(bind))
    except BindError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to :func:`serve_listeners`.

    uvicorn's own handler would catch the signal for one server only and
    re-raise it when that server ends, so several servers in one loop would
    not stop together.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _RawGatewayServer:
    """The gateway on its raw HTTP/1.1 front end, stopped the way a ``uvicorn.Server`` is (``should_exit``)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.started = False
        self.should_exit = False
        self.force_exit = False

    async def serve(self, sockets: list[socket.socket]) -> None:
        from antechamber.gateway.raw import start_raw_server
        from antechamber.gateway.raw.upgrade import websocket_upgrade

        server = await start_raw_server(self.gateway.handle, sock=sockets[0], upgrade=websocket_upgrade(self.gateway))
        self.started = True
        try:
            while not self.should_exit:
                await asyncio.sleep(0.1)
        finally:
            # Like uvicorn: busy connections get a few seconds, unless a second signal forces the exit.
            await server.aclose(grace=0.0 if self.force_exit else 5.0)


async def serve_listeners(
    listeners: Sequence[Listener],
    *,
    log_level: str = "info",
    on_started: Callable[[], Awaitable[None] | None] | None = None,
    bound: Sequence[socket.socket] | None = None,
) -> None:
    """Serve every listener until SIGINT/SIGTERM, or until any one of them stops.

    ``bound`` are the listeners' sockets from :func:`bind_all`, in order (bound here when
    not given); they are closed on return.
    """
    sockets = list(bound) if bound is not None else bind_all([listener.bind for listener in listeners])
    servers: list[_Server | _RawGatewayServer] = [
        _RawGatewayServer(listener.app)
        if listener.raw
        else _Server(
            uvicorn.Config(
                listener.app,
                log_level=log_level,
                log_config=None,
                access_log=False,
                **{"lifespan": "on", **listener.options},
            )
        )
        for listener in listeners
    ]

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    def on_signal() -> None:
        if all(server.should_exit for server in servers):
            for server in servers:
                server.force_exit = True  # a second signal: stop waiting for open connections
        stop()

    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # no signals here (Windows, thread)
            loop.add_signal_handler(signum, on_signal)
            handled.append(signum)
    tasks = [
        asyncio.create_task(server.serve(sockets=[sock]), name=f"antechamber-{listener.name}")
        for server, sock, listener in zip(servers, sockets, listeners, strict=True)
    ]
    try:
        if on_started is not None:
            while not all(server.started for server in servers):
                if any(task.done() for task in tasks):
                    break
                await asyncio.sleep(0.01)
            else:
                result = on_started()
                if result is not None:
                    await result
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        stop()  # one listener stopped (signal or failure): stop the others too
        await asyncio.wait(tasks)
        for task in tasks:
            task.result()  # re-raise a listener's failure
    finally:
        for task in tasks:
            task.cancel()
        for signum in handled:
            loop.remove_signal_handler(signum)
        for sock in sockets:
            sock.close()


def describe(settings: Settings) -> list[str]:
    """The start-up lines: where the API and the gateway listen and where the gateway forwards."""
    lines = [
        f"API      http://{settings.api}/client/v4",
        f"gateway  http://{settings.gateway}/  ->  {settings.origin or '(no default origin)'}",
    ]
    lines += [f"         host {host}  ->  {url}" for host, url in sorted(settings.origin_for.items())]
    return lines


async def serve(settings: Settings) -> None:
    """Run the management API and the gateway until interrupted."""
    sockets = bind_all([settings.api, settings.gateway])
    async with running_stack(settings) as stack:

        def started() -> None:
            for line in describe(settings):
                logger.info("%s", line)
            if settings.origin is None and not settings.origin_for:
                # Fine in forward-auth mode (the proxy reaches the origin itself); a mistake in proxy mode.
                logger.warning("no --origin given: proxied requests get 502 (forward-auth endpoints still work)")

        await serve_listeners(
            stack.listeners(settings), log_level=settings.log_level, on_started=started, bound=sockets
        )


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on uvloop when it is installed, else on asyncio's default loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def run(settings: Settings) -> None:
    """Blocking entry point for the CLI; a port in use exits with status 1 and the reason."""
    try:
        run_loop(serve(settings))
    except BindError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
