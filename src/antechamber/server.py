"""``antechamber serve``: the management API and the gateway, in one process or several.

The API and the gateway share one state backend (``--state``), so the API's status
endpoint reports the numbers the gateway enforces, and the gateway follows the
store the API writes (changes in force within 2 s, DESIGN section 4). Each
listener is its own ``uvicorn.Server``; SIGINT/SIGTERM stop them all gracefully
(requests in flight finish, then the state flushes its deltas; a second SIGINT
forces the exit), and if one stops the rest follow.

``--workers N`` forks N processes before any event loop starts; they accept on the
one gateway socket the parent bound, and the first of them also serves the API.
Every worker is a node of its own on the shared (Redis) state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI

from antechamber.api.app import create_app
from antechamber.challenge.altcha import Altcha
from antechamber.challenge.spent import spent_set_for
from antechamber.challenge.turnstile import Siteverify
from antechamber.core.cookie import CookieCodec
from antechamber.crawlers import CrawlerVerifier, ForwardConfirmedDns
from antechamber.db.engine import Database
from antechamber.gateway.admission import wall_clock_ms
from antechamber.gateway.analytics import AnalyticsRecorder, AnalyticsWriter
from antechamber.gateway.app import Gateway, create_gateway
from antechamber.gateway.challenge import ChallengeGate, TurnstileSite
from antechamber.gateway.config import GatewayConfig
from antechamber.gateway.follower import ConfigFollower
from antechamber.gateway.live_status import StateStatusSource
from antechamber.gateway.metrics import GatewayMetrics
from antechamber.gateway.timing import RequestTimings
from antechamber.gateway.upstream import UpstreamPool
from antechamber.keystore import KeyWatcher, load_or_create_keys
from antechamber.rules.geo import GeoDatabase
from antechamber.settings import Settings, parse_bind
from antechamber.state.base import RoomState
from antechamber.state.factory import open_state
from antechamber.state.redis import RedisState

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
    state: RoomState
    api: FastAPI
    gateway: Gateway
    metrics: GatewayMetrics

    def listeners(self, settings: Settings, *, api: bool = True) -> list[Listener]:
        """The API (unless off, or not this worker's) and the gateway (unless off) on their addresses."""
        listeners = []
        if settings.api_enabled and api:
            listeners.append(Listener("API", self.api, settings.api))
        if settings.gateway_enabled:
            # The gateway applies its own trusted-proxy list, so uvicorn must not rewrite the peer.
            listeners.append(
                Listener(
                    "gateway",
                    self.gateway,
                    settings.gateway,
                    {"proxy_headers": False, "lifespan": "off"},
                    raw=settings.gateway_server == "raw",
                )
            )
        if settings.metrics is not None:
            listeners.append(Listener("metrics", self.metrics.asgi(), settings.metrics, {"lifespan": "off"}))
        return listeners


def crawler_verifier(settings: Settings) -> CrawlerVerifier:
    """The crawler check with the data directory's ranges (or the shipped ones) and the configured DNS server."""
    nameserver, port = None, 53
    if settings.crawler_dns:
        nameserver, port = (
            parse_bind(settings.crawler_dns) if ":" in settings.crawler_dns else (settings.crawler_dns, 53)
        )
    dns = ForwardConfirmedDns(nameserver=nameserver, port=port, time_limit=settings.crawler_dns_timeout)
    return CrawlerVerifier.from_data_dir(settings.data_dir, dns=dns)


def challenge_gate(settings: Settings, codec: CookieCodec, state: RoomState) -> ChallengeGate:
    """ALTCHA signed with the cookie keys, or Turnstile when configured; answers used once, in Redis when shared."""
    spent = spent_set_for(state, prefix=settings.state_prefix)
    turnstile = None
    if settings.turnstile_site_key and settings.turnstile_secret_file is not None:
        secret = settings.turnstile_secret_file.read_text().strip()
        siteverify = Siteverify(secret, url=settings.turnstile_siteverify_url, timeout=settings.turnstile_timeout)
        turnstile = TurnstileSite(settings.turnstile_site_key, siteverify)
    return ChallengeGate(Altcha(codec.keyring), spent, turnstile)


def keys_changed(gateway: Gateway, codec: CookieCodec) -> Callable[[], None]:
    """After a key file change: forget cookies opened with the old keys, sign challenges with the new ones."""

    def swapped() -> None:
        gateway.admission.clear_cookie_cache()
        if gateway.admission.challenge is not None:
            gateway.admission.challenge.altcha.replace_keys(codec.keyring)

    return swapped


@contextlib.asynccontextmanager
async def running_stack(settings: Settings) -> AsyncIterator[Stack]:
    """Open and migrate the store, load the cookie keys, follow the config and the key file; close it all after."""
    settings.prepare_data_dir()
    database = Database(settings.resolved_database_url())
    try:
        await database.migrate()
        settings.prepare_data_dir()  # the SQLite file may have just been created: tighten it
        codec = CookieCodec(load_or_create_keys(settings.data_dir))
        geo = GeoDatabase(settings.geoip) if settings.geoip else None
        follower = ConfigFollower(database, geo=geo is not None)
        await follower.start()
        try:
            state = open_state(
                settings.state,
                data_dir=settings.data_dir,
                prefix=settings.state_prefix,
                policy=settings.state_failure,
                open_for_s=settings.state_open_seconds,
            )
            metrics = GatewayMetrics()
            api = create_app(
                database,
                StateStatusSource(state, follower),
                min_users=settings.min_user_limit,
                rules_geo=geo is not None,
                metrics=metrics.exposition,
            )
            gateway = create_gateway(
                follower,
                state,
                codec,
                UpstreamPool(),
                default_origin=settings.origin,
                origins=settings.origin_for,
                trusted_proxies=settings.trusted_proxies,
                geo=geo.lookup if geo is not None else None,
                crawlers=crawler_verifier(settings),
                challenge=challenge_gate(settings, codec, state),
            )
            if isinstance(state, RedisState):
                state.bind(gateway.admission.config_of)
            await state.start()
            forget_deleted_rooms(follower, state)
            keys = KeyWatcher(settings.data_dir, codec, on_swap=keys_changed(gateway, codec))
            keys.start()  # a changed key file is in force within 2 s, without a restart
            analytics = analytics_writer(settings, database, follower, state, gateway, metrics)
            try:
                yield Stack(database, follower, state, api, gateway, metrics)
            finally:
                await keys.aclose()
                await gateway.aclose()
                await analytics.aclose()  # after the listeners stopped: the last seconds count too
                await state.aclose()  # after the listeners stopped: flush the last deltas
        finally:
            await follower.aclose()
    finally:
        await database.dispose()


def analytics_writer(
    settings: Settings,
    database: Database,
    follower: ConfigFollower,
    state: RoomState,
    gateway: Gateway,
    metrics: GatewayMetrics,
) -> AnalyticsWriter:
    """Count the gateway's decisions per room and minute, and time its requests; hand both on every few seconds."""
    recorder = AnalyticsRecorder()
    gateway.admission.analytics = recorder
    timings = RequestTimings()
    gateway.timings = timings
    writer = AnalyticsWriter(
        recorder,
        database,
        follower,
        state,
        challenge=gateway.admission.challenge,
        retention_days=settings.analytics_days,
        clock=wall_clock_ms,
        node=state.node_id if isinstance(state, RedisState) else None,
        metrics=metrics,
        revision=lambda: follower.revision,
        timings=timings,
    )
    if settings.gateway_enabled:
        writer.start()
    return writer


def forget_deleted_rooms(follower: ConfigFollower, state: RoomState) -> None:
    """When a room leaves the configuration, drop its counters (Redis lets the room's keys expire)."""
    known = set(follower.current.rooms)

    def on_change(config: GatewayConfig) -> None:
        nonlocal known
        current = set(config.rooms)
        for room_id in known - current:
            state.drop_room(room_id)
        known = current

    follower.on_change = on_change


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


def describe(settings: Settings, *, api: bool = True) -> list[str]:
    """The start-up lines: where the API (if this worker serves it) and the gateway listen, the state."""
    lines = []
    if settings.api_enabled and api:
        lines.append(f"API      http://{settings.api}/client/v4")
    if settings.gateway_enabled:
        lines.append(f"gateway  http://{settings.gateway}/  ->  {settings.origin or '(no default origin)'}")
        lines += [f"         host {host}  ->  {url}" for host, url in sorted(settings.origin_for.items())]
    # The state URL may carry a password: name the backend only.
    backend = "memory (this process)" if settings.state == "memory" else f"redis, prefix {settings.state_prefix!r}"
    lines.append(f"state    {backend}, {settings.workers} worker(s)")
    return lines


def binds(settings: Settings) -> list[str]:
    """The addresses this node listens on (the API first, the metrics last)."""
    listening = [(settings.api, settings.api_enabled), (settings.gateway, settings.gateway_enabled)]
    if settings.metrics is not None:
        listening.append((settings.metrics, True))
    return [b for b, on in listening if on]


async def serve(settings: Settings, *, bound: Sequence[socket.socket] | None = None, api: bool = True) -> None:
    """Run the management API and the gateway until interrupted (one worker: ``bound`` from the parent)."""
    sockets = list(bound) if bound is not None else bind_all(binds(settings))
    async with running_stack(settings) as stack:

        def started() -> None:
            for line in describe(settings, api=api):
                logger.info("%s", line)
            if settings.gateway_enabled and settings.origin is None and not settings.origin_for:
                # Fine in forward-auth mode (the proxy reaches the origin itself); a mistake in proxy mode.
                logger.warning("no --origin given: proxied requests get 502 (forward-auth endpoints still work)")

        listeners = stack.listeners(settings, api=api)
        if not api and settings.api_enabled:
            sockets = sockets[1:]  # the API's socket is the first worker's
        await serve_listeners(listeners, log_level=settings.log_level, on_started=started, bound=sockets)


async def prepare(settings: Settings) -> None:
    """Migrate the store and create the cookie keys once, before workers that would race to do it start."""
    settings.prepare_data_dir()
    database = Database(settings.resolved_database_url())
    try:
        await database.migrate()
    finally:
        await database.dispose()
    settings.prepare_data_dir()
    load_or_create_keys(settings.data_dir)


def serve_workers(settings: Settings) -> None:
    """Fork ``settings.workers`` processes on sockets bound here; stop them all on SIGINT/SIGTERM or when one dies."""
    sockets = bind_all(binds(settings))
    try:
        asyncio.run(prepare(settings))
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    children: dict[int, int] = {}
    for index in range(settings.workers):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child (the multi-worker tests drive it)
            code = 0
            try:
                run_loop(serve(settings, bound=sockets, api=index == 0))
            except BaseException:
                logger.exception("worker %d failed", index)
                code = 1
            finally:
                os._exit(code)
        children[pid] = index
    for sock in sockets:
        sock.close()

    stopping = False

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    status = 0
    while children:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            break
        if children.pop(pid, None) is None:
            continue
        # A worker the stop signal reached before its event loop took over the signals ends by it: a clean stop.
        stopped = stopping and os.WIFSIGNALED(code) and os.WTERMSIG(code) in (signal.SIGTERM, signal.SIGINT)
        if code != 0 and not stopped:
            status = 1
        # One worker gone (a failure, or a signal to it alone): the node stops as a whole, as one
        # process would. Not once the stop is under way: the others have the signal already, and
        # a second one would cut their graceful stop short (a forced exit: the API worker's
        # lifespan cancelled mid-shutdown, with its traceback in the log).
        if not stopping:
            forward(signal.SIGTERM, None)
    if status:
        raise SystemExit(1)


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
        if settings.workers > 1:
            serve_workers(settings)
        else:
            run_loop(serve(settings))
    except BindError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
