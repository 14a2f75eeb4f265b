"""The Redis state backend: many processes and nodes hold one room's limits together.

Decisions stay local (DESIGN section 2). Each room a node serves has a
:class:`~antechamber.state.replica.Replica`; about once a second the node sends
every room's batch of deltas in one pipeline, one ``EVALSHA`` of ``lua/sync.lua``
per room, which merges it and answers with the totals of every node and this
node's share of the free slots. A node whose share is spent draws more with
``lua/draw.lua`` (the only command on a request's path, and only for an admission).

Keys are ``{PREFIX:ROOM}:...``: the hash tag keeps a room's keys in one Cluster
slot, and the prefix lets several deployments share one Redis. Every key expires,
so a deleted or idle room leaves nothing behind.

When Redis does not answer, the node keeps deciding on its last totals (policy
``hold``: a conservative share of what they free up; ``open``: everyone through
for at most ``open_for_s``, then ``hold``), resends its batches once Redis is
back (each merged once, by batch id), and re-seeds a Redis that came back empty.
A re-seed carries each node's last batch id its totals hold: a node whose answer
was lost does not have its batch merged twice, and one whose later batches the
seed lacks resends them (each node keeps its last few).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisClusterException, RedisError

from antechamber.background import cancel_and_wait
from antechamber.core.budget import free_slots
from antechamber.core.counters import Deltas, RoomSnapshot
from antechamber.core.types import (
    CAP_WINDOW_S,
    OUTFLOW_WINDOW_S,
    PRESENT_MS,
    QUEUE_PLACE_HOLD_MS,
    REFRESH_BUCKET_MS,
    RoomConfig,
)
from antechamber.state.base import FailurePolicy, StateHealth
from antechamber.state.replica import STORE_BEHIND, STORE_EMPTY, AdmittedAt, Batch, Replica, parse_sync_reply

logger = logging.getLogger(__name__)

#: Returns a room's effective configuration at a time (None: no such room any more).
ConfigOf = Callable[[str, int], RoomConfig | None]

#: Refresh-bucket hashes per room: the live buckets (5-minute hold + present) with room to spare.
RING = 34
#: After a draw found nothing, the pool is not asked again for this long.
POOL_RETRY_S = 0.2
#: A room nobody asked about for this long is no longer synced (its keys expire in Redis).
IDLE_MS = 120_000
DEFAULT_PREFIX = "antechamber"
#: A node that has not synced for this long gets no share of the free slots.
NODE_STALE_MS = 5_000
#: A node that has not synced for this long is forgotten.
NODE_GONE_MS = 3_600_000
#: A room's meta and nodes keys outlive its last sync by this much.
META_TTL_MS = 7_200_000
_LUA_CONSTANTS = {
    "REFRESH_MS": REFRESH_BUCKET_MS,
    "HOLD_MS": QUEUE_PLACE_HOLD_MS,
    "PRESENT_MS": PRESENT_MS,
    "OUTFLOW_S": OUTFLOW_WINDOW_S,
    "CAP_WINDOW_S": CAP_WINDOW_S,
    "NODE_STALE_MS": NODE_STALE_MS,
    "NODE_GONE_MS": NODE_GONE_MS,
    "META_TTL_MS": META_TTL_MS,
}
_META, _ACT, _FLOW, _PACE, _NODES = "meta", "act", "flow", "pace", "nodes"


def _reopen_pool(replica: Replica) -> None:
    replica.pool = True


def _script(name: str) -> str:
    """A Lua script's text, after the constants it shares with the core and the other script.

    Defined here once rather than in each script, so the scripts and the
    in-process state cannot drift apart.
    """
    header = "".join(f"local {constant} = {value}\n" for constant, value in _LUA_CONSTANTS.items())
    return header + resources.files("antechamber.state").joinpath("lua", name).read_text()


def _ms() -> int:
    return time.time_ns() // 1_000_000


def room_keys(prefix: str, room_id: str) -> list[str]:
    """The keys of one room, in the order ``sync.lua`` takes them."""
    tag = f"{{{prefix}:{room_id}}}"
    return [f"{tag}:{part}" for part in (_META, _ACT, _FLOW, _PACE, _NODES)] + [f"{tag}:w{i}" for i in range(RING)]


def connect(url: str, *, timeout: float) -> Redis | RedisCluster:
    """A client for ``redis://``, ``rediss://`` (TLS), ``unix://`` or ``redis+cluster://`` (a Cluster seed node).

    No retries: a failed call is retried by the next sync, and a request never waits on one.
    """
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
    }
    if url.startswith("redis+cluster://"):
        return RedisCluster.from_url("redis://" + url.removeprefix("redis+cluster://"), **options)
    if url.startswith("rediss+cluster://"):
        return RedisCluster.from_url("rediss://" + url.removeprefix("rediss+cluster://"), **options)
    return Redis.from_url(url, **options)


class _Send:
    """One room's part of a sync: its batches (held ones first), traffic, want and free slots.

    ``seed``: the store may be empty, create it from this node's view with the first batch.
    ``resend``: the batches include ones the store answered for before (it lost them): no check.
    """

    __slots__ = ("batches", "free", "resend", "room", "seed", "traffic", "want")

    def __init__(
        self,
        room: _Room,
        batches: list[Batch],
        traffic: int,
        want: int,
        free: int,
        *,
        seed: bool = False,
        resend: bool = False,
    ) -> None:
        self.room = room
        self.batches = batches
        self.traffic = traffic
        self.want = want
        self.free = free
        self.seed = seed
        self.resend = resend

    def again(self, batches: list[Batch], *, seed: bool = False, resend: bool = False) -> _Send:
        """This send once more, with ``batches``."""
        return _Send(self.room, batches, self.traffic, self.want, self.free, seed=seed, resend=resend)


class _Room:
    __slots__ = ("keys", "replica", "touched_ms")

    def __init__(self, keys: list[str], now_ms: int) -> None:
        self.keys = keys
        self.replica = Replica()
        self.touched_ms = now_ms


class RedisState:
    """Room counters shared through Redis; implements :class:`~antechamber.state.base.RoomState`.

    Example::

        state = RedisState("redis://127.0.0.1:6379/0")
        state.bind(admission.config_of)   # the free slots are reckoned on each room's limits
        await state.start()
        ...
        await state.aclose()              # flushes the last deltas

    Args:
        url: the Redis URL (see :func:`connect`).
        prefix: the first part of every key, so deployments can share one Redis.
        node_id: this node's name in the shared store (default: random per process).
        interval: seconds between syncs.
        policy: what to do while Redis does not answer (``hold`` or ``open``).
        open_for_s: how long ``open`` lets visitors through before holding.
        timeout: seconds a sync may take; a request waits for a draw a fifth of it, at most 100 ms.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        node_id: str | None = None,
        interval: float = 1.0,
        policy: FailurePolicy = "hold",
        open_for_s: float = 60.0,
        timeout: float = 0.5,
        clock: Callable[[], int] = _ms,
        client: Redis | RedisCluster | None = None,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.node_id = node_id or uuid.uuid4().hex[:12]
        self.interval = interval
        self.policy: FailurePolicy = policy
        self.open_for_ms = int(open_for_s * 1000)
        self.timeout = timeout
        self.draw_timeout = min(0.1, timeout / 5)
        self.clock = clock
        self.client = client if client is not None else connect(url, timeout=timeout)
        self._config_of: ConfigOf = lambda room_id, now_ms: None
        self._rooms: dict[str, _Room] = {}
        self._sync_text, self._draw_text = _script("sync.lua"), _script("draw.lua")
        self._sync_sha = self._draw_sha = ""
        self._batch_id = 0
        self._lock = asyncio.Lock()
        self._draws: dict[str, asyncio.Future[bool]] = {}
        self._task: asyncio.Task[None] | None = None
        self.failing_since_ms = 0
        self.synced_ms = 0
        #: Redis commands sent (syncs count one per room, a pipeline's overhead none).
        self.commands = 0
        self._open = False

    def bind(self, config_of: ConfigOf) -> None:
        """Where to read each room's limits (the free slots are reckoned on them)."""
        self._config_of = config_of

    # --- the request path (no I/O) ------------------------------------------------------

    def _room(self, room_id: str, now_ms: int) -> _Room:
        room = self._rooms.get(room_id)
        if room is None:
            room = self._rooms[room_id] = _Room(room_keys(self.prefix, room_id), now_ms)
        room.touched_ms = now_ms
        return room

    def snapshot(self, room_id: str, now_ms: int, /) -> RoomSnapshot:
        """The room as this node sees it: the last totals, its own changes since, and its allowance."""
        replica = self._room(room_id, now_ms).replica
        replica.count_traffic()
        return replica.snapshot(now_ms)

    def peek(self, room_id: str, now_ms: int, /) -> RoomSnapshot:
        """The room as this node sees it, not counted as traffic (zeros for a room this node does not serve)."""
        room = self._rooms.get(room_id)
        return RoomSnapshot(now_ms) if room is None else room.replica.snapshot(now_ms)

    def apply(self, room_id: str, deltas: Deltas, now_ms: int, /) -> None:
        """Count one decision here; it reaches Redis with the next sync."""
        if deltas:
            self._room(room_id, now_ms).replica.apply(deltas, now_ms)

    @property
    def open(self) -> bool:
        """The ``open`` policy is letting everyone through (Redis unreachable, within ``open_for_s``)."""
        return self._open

    # --- I/O ----------------------------------------------------------------------------

    async def draw(self, room_id: str, now_ms: int, /) -> bool:
        """Take slots from the shared pool for this node (one atomic command); False when there are none.

        Concurrent draws for one room share one command; a request waits at most
        ``draw_timeout`` for it (the command goes on, and its slots serve the next requests).
        """
        room = self._room(room_id, now_ms)
        if room.replica.grant > room.replica.used:
            return True  # a draw that finished meanwhile brought slots
        pending = self._draws.get(room_id)
        if pending is None:
            pending = asyncio.ensure_future(self._draw(room_id, room, now_ms))
            self._draws[room_id] = pending
            pending.add_done_callback(lambda _: self._draws.pop(room_id, None))
        try:
            async with asyncio.timeout(self.draw_timeout if room.replica.synced else self.timeout):
                return await asyncio.shield(pending)
        except TimeoutError:
            return False

    async def _draw(self, room_id: str, room: _Room, now_ms: int) -> bool:
        replica = room.replica
        try:
            if not replica.synced:
                # The first request of a room on this node: its first sync brings a share.
                await self.sync([room_id])
                return replica.grant > replica.used
            config = self._config_of(room_id, now_ms)
            if config is None or self.failing_since_ms:
                return False
            free = free_slots(config, replica.snapshot(now_ms), now_ms)
            # Enough for this node's share of what is free, so the next requests need no draw of their own.
            wanted = replica.draw_size(free)
            args = (now_ms, self.node_id, wanted, free, replica.view.seq, replica.used)
            self.commands += 1
            taken = int(await self._evalsha(self._draw_text, "_draw_sha", room.keys[0], room.keys[4], *args))
        except (RedisError, OSError, TimeoutError):
            taken = 0
        replica.grant += taken
        if not taken:
            # Nothing to be had: stop asking for a moment (the next sync brings a new share anyway).
            replica.pool = False
            asyncio.get_running_loop().call_later(POOL_RETRY_S, _reopen_pool, replica)
        return taken > 0

    async def read(self, room_id: str, now_ms: int, /) -> RoomSnapshot:
        """Sync the room now and return the totals of every node."""
        self._room(room_id, now_ms)
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            await self.sync([room_id])
        return self._rooms[room_id].replica.snapshot(self.clock())

    async def _evalsha(self, text: str, attr: str, *keys_and_args: Any) -> Any:
        """Run a script on its two keys' node; one that does not know it (restarted, new) gets it loaded first.

        A Cluster client routes ``EVALSHA`` by its keys (one slot: the room's hash tag) and
        sends ``SCRIPT LOAD`` to every primary.
        """
        sha = getattr(self, attr)
        nkeys = 2
        try:
            try:
                if not sha:
                    raise NoScriptError("not loaded yet")
                return await self.client.evalsha(sha, nkeys, *keys_and_args)
            except NoScriptError:
                sha = await self.client.script_load(text)
                setattr(self, attr, sha)
                return await self.client.evalsha(sha, nkeys, *keys_and_args)
        except RedisClusterException as exc:  # not a RedisError: e.g. no seed node reachable
            raise RedisConnectionError(f"Redis Cluster: {type(exc).__name__}") from exc

    async def start(self) -> None:
        """Load the scripts (Redis may be down: the node starts anyway and holds) and start syncing."""
        try:
            async with asyncio.timeout(self.timeout * 4):
                await self._load_scripts()
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(self.clock(), exc)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="antechamber-state-sync")

    async def _load_scripts(self) -> None:
        """Load both scripts (a Cluster client sends ``SCRIPT LOAD`` to every primary)."""
        try:
            self._sync_sha = await self.client.script_load(self._sync_text)
            self._draw_sha = await self.client.script_load(self._draw_text)
        except RedisClusterException as exc:  # not a RedisError: e.g. no seed node reachable
            raise RedisConnectionError(f"Redis Cluster: {type(exc).__name__}") from exc

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                await self.sync()

    async def sync(self, room_ids: Sequence[str] | None = None) -> None:
        """Merge every room's batch (or just ``room_ids``) and read back the totals, in one pipeline.

        Raises the Redis error when the store did not answer (the batches stay held for the next try).
        """
        async with self._lock:
            now = self.clock()
            if room_ids is None:
                for room_id in [r for r, room in self._rooms.items() if now - room.touched_ms > IDLE_MS]:
                    room = self._rooms[room_id]
                    if not room.replica.unconfirmed and not room.replica.buffer.deltas():
                        del self._rooms[room_id]
                room_ids = list(self._rooms)
            rooms = [(room_id, self._rooms.get(room_id) or self._room(room_id, now)) for room_id in room_ids]
            if not rooms:
                return
            try:
                await self._sync(rooms, now)
            except (RedisError, OSError, TimeoutError) as exc:
                self._failed(now, exc)
                raise
            self._recovered(now)

    async def _sync(self, rooms: list[tuple[str, _Room]], now: int) -> None:
        sends: list[_Send] = []
        for room_id, room in rooms:
            replica = room.replica
            config = self._config_of(room_id, now)
            free = 0 if config is None else free_slots(config, replica.snapshot(now), now)
            batch, seconds, traffic = replica.take_batch()  # (this also updates the node's traffic rate)
            want = replica.want(free)
            batches = [*replica.unconfirmed, (self._next_id(), batch, seconds)]
            # A room's first sync may find the store without it: create it in the same call.
            sends.append(_Send(room, batches, traffic, want, free, seed=not replica.synced))
        settled = 0
        try:
            replies = await self._pipeline(sends, now)
            for send, reply in zip(sends, replies, strict=True):
                status = int(reply[0]) if reply else STORE_EMPTY
                if status == STORE_EMPTY:
                    # Redis came back empty: nothing was merged; re-seed it from this node's last view.
                    logger.info("state store lacks %s: seeding it from this node's view", send.room.keys[0])
                    reply = (await self._pipeline([send.again(send.batches, seed=True)], now))[0]
                elif status == STORE_BEHIND:
                    # Another node re-seeded it from an older view: resend what it lacks of ours.
                    lacking = send.room.replica.lacking(int(reply[1]))
                    logger.info(
                        "state store was seeded without %d of this node's batches for %s: resending them",
                        len(lacking),
                        send.room.keys[0],
                    )
                    reply = (await self._pipeline([send.again([*lacking, *send.batches], resend=True)], now))[0]
                view = parse_sync_reply(reply)
                if view is None:  # emptied again meanwhile: the next sync tries again
                    send.room.replica.hold_batch(*send.batches[-1])
                else:
                    send.room.replica.absorb(view, now, send.batches)
                    logger.debug(
                        "synced: batches %s, admitted %s, waiting %s, grant %d, active %d, waiting %d",
                        [batch_id for batch_id, _, _ in send.batches],
                        [d.admitted for _, d, _ in send.batches],
                        [sum(count for _, _, count in d.waiting) for _, d, _ in send.batches],
                        view.grant,
                        view.active,
                        view.waiting,
                    )
                settled += 1
        except BaseException:
            for send in sends[settled:]:
                send.room.replica.hold_batch(*send.batches[-1])
            raise
        self.synced_ms = now

    def _sync_args(
        self,
        now: int,
        batch_id: int,
        deltas: Deltas,
        seconds: AdmittedAt,
        replica: Replica,
        send: _Send,
        first: bool,
        last: bool,
    ) -> list[Any]:
        """``sync.lua``'s arguments; only the first batch of a room carries the seed, the last its traffic and want."""
        seed = send.seed and first
        args: list[Any] = [
            now,
            self.node_id,
            batch_id,
            send.traffic if last else 0,
            send.want if last else 0,
            send.free,
            replica.view.seq,
            1 if seed else 0,
            0 if send.resend else replica.confirmed_id,
            len(deltas.active),
        ]
        for pair in deltas.active:
            args += pair
        args.append(len(deltas.waiting))
        for triple in deltas.waiting:
            args += triple
        args += (deltas.admitted, deltas.admitted_open, 1 if deltas.queue_open else 0, deltas.pace_us)
        args.append(len(seconds))
        for pair in seconds:
            args += pair
        if seed:
            known = replica.seed(now)
            args.append(len(known.sessions))
            for pair in known.sessions:
                args += pair
            args.append(len(known.places))
            for triple in known.places:
                args += triple
            args += (known.admitted_minute, known.pace_tat_us, known.seq, len(known.batch_ids))
            for node_id, last_batch in known.batch_ids:
                args += (node_id, last_batch)
        return args

    async def _pipeline(self, sends: list[_Send], now: int) -> list[Any]:
        """Send each room's batches in order, in one pipeline; return each room's last reply.

        On a Cluster, redis-py splits the pipeline by node, sends the parts in parallel,
        follows MOVED/ASK one command at a time and answers in the order sent. The rooms
        of a node that forgot the script (restarted, or new) are sent again once it is loaded.
        """
        loaded_now = not self._sync_sha
        if loaded_now:
            await self._load_scripts()
        spans: list[range] = []  # each room's commands in the pipeline
        try:
            async with asyncio.timeout(self.timeout):
                pipe = self.client.pipeline(transaction=False)
                for send in sends:
                    keys = send.room.keys
                    start = len(pipe)
                    for index, (batch_id, deltas, seconds) in enumerate(send.batches):
                        first, last = index == 0, index == len(send.batches) - 1
                        args = self._sync_args(now, batch_id, deltas, seconds, send.room.replica, send, first, last)
                        # The command, not pipe.evalsha(): a ClusterPipeline refuses the method.
                        pipe.execute_command("EVALSHA", self._sync_sha, len(keys), *keys, *args)
                    spans.append(range(start, len(pipe)))
                self.commands += len(pipe)
                results = await pipe.execute(raise_on_error=False)
            for result in results:
                if isinstance(result, Exception) and not isinstance(result, NoScriptError):
                    raise result
        except RedisCluster.ERRORS_ALLOW_RETRY:
            if isinstance(self.client, RedisCluster):
                # redis-py re-reads the slots only when it may retry, and this client never
                # does: make the next sync re-read them (a failover moves a primary).
                with contextlib.suppress(RedisError, OSError):
                    await self.client.aclose()
            raise
        except RedisClusterException as exc:  # not a RedisError: e.g. no seed node reachable
            raise RedisConnectionError(f"Redis Cluster: {type(exc).__name__}") from exc
        replies = [results[span[-1]] for span in spans]
        forgot = [i for i, span in enumerate(spans) if any(isinstance(results[j], NoScriptError) for j in span)]
        if forgot:
            if loaded_now:  # loaded just now and still missing: the next sync tries again
                raise next(r for r in results if isinstance(r, NoScriptError))
            self._sync_sha = ""  # a node restarted and forgot the script: load it, send its rooms again
            for i, reply in zip(forgot, await self._pipeline([sends[i] for i in forgot], now), strict=True):
                replies[i] = reply
        return replies

    def _next_id(self) -> int:
        self._batch_id += 1
        return self._batch_id

    def _failed(self, now: int, exc: BaseException) -> None:
        if not self.failing_since_ms:
            self.failing_since_ms = now
            # The exception text may carry the URL and its password: log the type only.
            logger.warning(
                "state store unreachable (%s): deciding on the last known totals, policy %s",
                type(exc).__name__,
                self.policy,
            )
        self._open = self.policy == "open" and now - self.failing_since_ms < self.open_for_ms
        for room_id, room in self._rooms.items():
            config = self._config_of(room_id, now)
            if config is None:
                continue
            replica = room.replica
            free_base = free_slots(config, replica.snapshot(now, local=False), now)
            total = replica.view.traffic_total
            share = 1.0 if total <= 0 else min(1.0, max(replica.traffic_rate, 1.0) / total)
            replica.hold(free_base, share)

    def _recovered(self, now: int) -> None:
        if self.failing_since_ms:
            logger.info("state store reachable again after %.1f s", (now - self.failing_since_ms) / 1000)
        self.failing_since_ms = 0
        self._open = False

    async def aclose(self) -> None:
        """Stop syncing and flush the last deltas (a short try: Redis may be gone)."""
        task, self._task = self._task, None
        await cancel_and_wait(task)
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            await self.sync()
        with contextlib.suppress(RedisError, OSError):
            await self.client.aclose()

    def drop_room(self, room_id: str) -> None:
        """Stop syncing a deleted room; its keys expire in Redis."""
        self._rooms.pop(room_id, None)

    def health(self) -> StateHealth:
        """Whether Redis answers, since when not, and whether ``open`` is letting everyone through."""
        return StateHealth(
            "redis",
            not self.failing_since_ms,
            self.failing_since_ms,
            self.synced_ms,
            self.policy,
            self._open,
        )

    def memory_bytes(self) -> int:
        """This node's replicas (the shared counters live in Redis)."""
        return sum(room.replica.memory_bytes() for room in self._rooms.values())
