"""The waiting room inside an app's process: decisions in the request's thread, background work in one of its own.

A web app's requests arrive on threads (WSGI, sync Django) or on the server's event
loop (ASGI); neither may wait on the waiting room's background work (the config
store's follower, the Redis backend's merge every second, a slot drawn from Redis).
So each process runs that work on an event loop in a daemon thread of its own,
started by the first request (after a pre-forking server has forked its workers),
and decides each request in the caller's own thread: the decision does no I/O.

Request threads and the background loop touch the same counters, so they take turns
on one lock: a request holds it while it is decided (microseconds), and the loop
holds it through each step of each of its tasks (a task factory wraps every task's
coroutine), which is every line of Python between two awaits. An await never holds
it, so a slow Redis never stalls a request; only a request that must draw a slot
(:class:`~antechamber.gateway.request_path.Deferred`) waits for the loop.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import threading
from collections.abc import Awaitable, Coroutine, Generator, Mapping
from concurrent.futures import Future
from typing import Any, TypeVar

from antechamber.challenge.altcha import Altcha
from antechamber.challenge.spent import spent_set_for
from antechamber.core.cookie import CookieCodec
from antechamber.crawlers import CrawlerVerifier, ForwardConfirmedDns
from antechamber.db.engine import Database
from antechamber.gateway.admission import Admission, Verdict, wall_clock_ms
from antechamber.gateway.analytics import AnalyticsRecorder, AnalyticsWriter
from antechamber.gateway.challenge import ChallengeGate
from antechamber.gateway.config import ConfigSource, StaticConfig
from antechamber.gateway.follower import ConfigFollower
from antechamber.gateway.pages import Reply
from antechamber.gateway.request import TrustedProxies, Visitor
from antechamber.gateway.request_path import Deferred, RequestPath, Scope
from antechamber.keystore import load_or_create_keys
from antechamber.middleware.environ import environ_path
from antechamber.middleware.options import Options
from antechamber.state.base import RoomState
from antechamber.state.factory import open_state

logger = logging.getLogger("antechamber.middleware")

T = TypeVar("T")

#: How long a request waits for a slot drawn from Redis, or the first request for the start.
WAIT_S = 10.0


class Onward:
    """The request goes on to the app; its answer gets ``cookies``, and the origin command is acted on."""

    __slots__ = ("cookies", "verdict", "visitor")

    def __init__(self, cookies: tuple[bytes, ...], verdict: Verdict | None, visitor: Visitor | None) -> None:
        self.cookies = cookies
        self.verdict = verdict
        self.visitor = visitor


#: A request outside every room: straight on, untouched.
UNTOUCHED = Onward((), None, None)


class AppPath(RequestPath[Onward]):
    """The gateway's request path, where going on means calling the app."""

    __slots__ = ()

    def onward(
        self, visitor: Visitor, trusted: bool, room_id: str, cookies: tuple[bytes, ...], verdict: Verdict | None
    ) -> Onward:
        return UNTOUCHED if verdict is None else Onward(cookies, verdict, visitor)

    def command(self, onward: Onward, value: bytes) -> tuple[bytes, ...]:
        """The ``Set-Cookie`` values for an app answer carrying ``Cf-Waiting-Room-Command: value``."""
        if onward.verdict is None or onward.visitor is None:
            return onward.cookies
        return self.origin_command(onward.verdict, onward.visitor, value)


class _Stepped:
    """Awaits a coroutine one step at a time, each step holding ``lock`` (see the module docstring)."""

    __slots__ = ("coro", "lock")

    def __init__(self, coro: Coroutine[Any, Any, Any], lock: threading.Lock) -> None:
        self.coro = coro
        self.lock = lock

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, lock = self.coro, self.lock
        value: Any = None
        error: BaseException | None = None
        while True:
            with lock:
                try:
                    step = coro.send(value) if error is None else coro.throw(error)
                except StopIteration as stop:
                    return stop.value
            try:
                value, error = (yield step), None
            except BaseException as exc:  # cancellation and the like go on into the coroutine
                value, error = None, exc


async def _locked(coro: Coroutine[Any, Any, T], lock: threading.Lock) -> T:
    result: T = await _Stepped(coro, lock)
    return result


class AppNode:
    """One process's waiting room: the request path, and the background loop that keeps it current.

    Built lazily by the middleware (:meth:`for_process`), so a pre-forking server's
    workers each start their own after the fork.
    """

    def __init__(self, options: Options) -> None:
        self.options = options
        self.lock = threading.Lock()
        self.pid = os.getpid()
        self._loop = asyncio.new_event_loop()
        self._loop.set_task_factory(self._task)
        self._thread = threading.Thread(target=self._loop.run_forever, name="antechamber-background", daemon=True)
        self._database: Database | None = None
        self._follower: ConfigFollower | None = None
        self._analytics: AnalyticsWriter | None = None
        self.state: RoomState | None = None
        self._path: AppPath | None = None
        self._started: Future[None] | None = None
        #: Started, and ready to decide (a plain flag: each request reads it).
        self.is_ready = False

    def _task(self, loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        return asyncio.Task(_locked(coro, self.lock), loop=loop, **kwargs)

    @property
    def path(self) -> AppPath:
        """The request path (after :meth:`start`)."""
        assert self._path is not None, "the waiting room has not started"
        return self._path

    def start(self) -> Future[None]:
        """Start the background loop and open everything on it (once); the future says when it is ready."""
        if self._started is None:
            self._thread.start()
            self._started = asyncio.run_coroutine_threadsafe(self._open(), self._loop)
        return self._started

    def wait_started(self) -> None:
        """Block until started (a WSGI or sync Django request); raises what the start raised."""
        self.start().result(WAIT_S)

    async def started(self) -> None:
        """Wait until started without blocking the caller's event loop (ASGI, async Django)."""
        future = self.start()
        if not future.done():
            await asyncio.wrap_future(future)
        future.result()

    async def _open(self) -> None:
        options = self.options
        options.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        codec = CookieCodec(load_or_create_keys(options.data_dir))
        source: ConfigSource
        if options.database is not None:
            self._database = Database(options.database)
            self._follower = ConfigFollower(self._database, interval=options.follow_interval)
            await self._follower.start()
            source = self._follower
        else:
            source = StaticConfig(options.room_config())
        state = open_state(options.state, data_dir=options.data_dir, prefix=options.state_prefix)
        admission = Admission(
            source, state, codec, crawlers=CrawlerVerifier.from_data_dir(options.data_dir, dns=ForwardConfirmedDns())
        )
        admission.challenge = ChallengeGate(Altcha(codec.keyring), spent_set_for(state, prefix=options.state_prefix))
        from antechamber.state.redis import RedisState  # only now: the Redis client is imported when used

        if isinstance(state, RedisState):
            state.bind(admission.config_of)
        await state.start()
        if isinstance(state, RedisState) and source.current.rooms:
            # Join with a share of every room now: a worker's first visitors must not wait for a
            # cold connection's first sync (a draw waits 0.5 s at most, then queues them).
            with contextlib.suppress(Exception):
                await state.sync(list(source.current.rooms))
        self.state = state
        if self._database is not None and self._follower is not None:
            self._analytics = self._count_into(self._database, self._follower, admission, state)
        self._path = AppPath(admission, TrustedProxies(options.trusted_proxies))
        self.is_ready = True
        logger.info("waiting room started in process %d (state %s)", self.pid, type(state).__name__)

    @staticmethod
    def _count_into(
        database: Database, follower: ConfigFollower, admission: Admission, state: RoomState
    ) -> AnalyticsWriter:
        """Count decisions per room and minute into the config store as a gateway node does (for the dashboard)."""
        from antechamber.state.redis import RedisState

        recorder = AnalyticsRecorder()
        admission.analytics = recorder
        writer = AnalyticsWriter(
            recorder,
            database,
            follower,
            state,
            challenge=admission.challenge,
            clock=wall_clock_ms,
            node=state.node_id if isinstance(state, RedisState) else None,
            revision=lambda: follower.revision,
        )
        writer.start()
        return writer

    def passes(self, scope: Scope) -> bool:
        """An admitted visitor's ordinary request, known to change nothing: on to the app undecided.

        It only reads (single dict lookups, atomic under the GIL; the follower swaps the
        configuration whole), so it takes no lock.
        """
        path = self._path
        return path is not None and path.untouched_room(scope) is not None

    def passes_environ(self, environ: Mapping[str, Any], path: str | None = None) -> bool:
        """:meth:`passes` for a WSGI environ (or Django's ``request.META``; ``path`` overrides its path)."""
        request_path = self._path
        if request_path is None:
            return False
        host, cookie = environ.get("HTTP_HOST"), environ.get("HTTP_COOKIE")
        if not host or not cookie:
            return False
        path = environ_path(environ) if path is None else path
        return request_path.quiet_room(host.encode("latin-1"), path, cookie.encode("latin-1")) is not None

    def decide(self, scope: Scope) -> Reply | Onward | Deferred[Onward]:
        """Decide a request in the caller's thread (taking turns with the background loop)."""
        with self.lock:
            return self.path.handle(scope)

    def decide_websocket(self, scope: Scope) -> Reply | Onward | Deferred[Onward]:
        """Decide a WebSocket upgrade in the caller's thread."""
        with self.lock:
            return self.path.handle_websocket(scope)

    def settle(self, deferred: Deferred[Onward]) -> Reply | Onward:
        """Wait in this thread for a deferred decision, which runs on the background loop."""
        return asyncio.run_coroutine_threadsafe(deferred.action, self._loop).result(WAIT_S)

    async def asettle(self, deferred: Deferred[Onward]) -> Reply | Onward:
        """Await a deferred decision on the background loop from another event loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(deferred.action, self._loop))

    def command(self, onward: Onward, value: bytes) -> tuple[bytes, ...]:
        """Act on the app's ``Cf-Waiting-Room-Command`` (the session's end changes the counters: take turns)."""
        with self.lock:
            return self.path.command(onward, value)

    def run(self, coroutine: Awaitable[T]) -> T:
        """Run ``coroutine`` on the background loop and wait for it (tests, and the closing)."""

        async def wrapped() -> T:
            return await coroutine

        return asyncio.run_coroutine_threadsafe(wrapped(), self._loop).result(WAIT_S)

    def close(self) -> None:
        """Flush the state (the last deltas reach Redis), stop following, stop the loop."""
        if self._started is None or not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            self.run(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _close(self) -> None:
        if self._analytics is not None:
            await self._analytics.aclose()  # the last seconds' figures, before the state goes
        if self.state is not None:
            await self.state.aclose()
        if self._follower is not None:
            await self._follower.aclose()
        if self._database is not None:
            await self._database.dispose()


class NodeHandle:
    """The middleware's node, made on first use in each process (a forked worker makes its own)."""

    __slots__ = ("_lock", "_node", "options")

    def __init__(self, options: Options) -> None:
        self.options = options
        self._node: AppNode | None = None
        self._lock = threading.Lock()

    def get(self) -> AppNode:
        """This process's node, created and started if need be."""
        node = self._node
        if node is None:
            with self._lock:
                node = self._node
                if node is None:
                    node = self._node = AppNode(self.options)
                    node.start()
                    # The last second's counts reach Redis (or the memory state's file) at exit.
                    atexit.register(node.close)
                    # A forked child (a pre-forking server's worker) makes its own: threads do not survive a fork.
                    os.register_at_fork(after_in_child=self._forget)
        return node

    def _forget(self) -> None:
        self._node = None
        self._lock = threading.Lock()

    def ready(self) -> AppNode:
        """This process's node, started: the first request of a process waits for the start."""
        node = self.get()
        if not node.is_ready:
            node.wait_started()
        return node

    def close(self) -> None:
        """Close this process's node, if it has one."""
        if self._node is not None:
            self._node.close()
