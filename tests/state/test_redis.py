"""What only a shared store does: keys that expire, shares of the free slots, draws, faults and re-seeding."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError

from antechamber.core.config import effective_config
from antechamber.core.counters import Deltas
from antechamber.core.types import REFRESH_BUCKET_MS, RoomConfig
from antechamber.state.redis import RedisState
from tests import services
from tests.state.backends import Clock

NOW = 1_800_000_000_000
S = NOW // 1000
B = NOW // REFRESH_BUCKET_MS
CONFIG = RoomConfig("r", total_active_users=100, new_users_per_minute=6000, session_duration=5)


@pytest.fixture
def prefix() -> str:
    """A key prefix of this test's own."""
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def client(redis_server_url: str) -> AsyncIterator[Redis]:
    """A plain client to look at the keys."""
    redis = Redis.from_url(redis_server_url)
    try:
        yield redis
    finally:
        await redis.aclose()


def node(url: str, prefix: str, clock: Clock, config: RoomConfig = CONFIG, **options: object) -> RedisState:
    state = RedisState(url, prefix=prefix, clock=clock, **options)  # type: ignore[arg-type]
    state.bind(lambda room_id, now_ms: config if room_id == "r" else None)
    return state


async def test_every_key_expires_and_carries_the_prefix(redis_server_url: str, client: Redis, prefix: str) -> None:
    """A room's keys all start with the prefix and the room's hash tag, and every one has a TTL."""
    clock = Clock(NOW)
    st = node(redis_server_url, prefix, clock)
    st.apply("r", Deltas(active=((S + 60, 1),), waiting=((S, B, 2),), admitted=1, pace_us=10_000), NOW)
    st.snapshot("r", NOW)
    await st.sync()
    keys = [k.decode() async for k in client.scan_iter(match=f"*{prefix}*")]
    assert keys and all(k.startswith(f"{{{prefix}:r}}:") for k in keys)
    for key in keys:
        assert await client.pttl(key) > 0, key
    await st.aclose()


async def test_nodes_split_the_free_slots_by_traffic(redis_server_url: str, prefix: str) -> None:
    """Two nodes' grants add up to no more than the free slots, the busier node getting the larger share."""
    clock = Clock(NOW)
    busy, quiet = node(redis_server_url, prefix, clock), node(redis_server_url, prefix, clock)
    for _ in range(3):
        for _ in range(30):
            busy.snapshot("r", NOW)
        for _ in range(10):
            quiet.snapshot("r", NOW)
        await busy.sync()
        await quiet.sync()
    grant_busy = busy.snapshot("r", NOW).allowance
    grant_quiet = quiet.snapshot("r", NOW).allowance
    assert grant_busy is not None and grant_quiet is not None
    assert grant_busy + grant_quiet <= CONFIG.total_active_users
    assert grant_busy > grant_quiet > 0
    await busy.aclose()
    await quiet.aclose()


async def test_a_draw_takes_only_what_no_node_holds(redis_server_url: str, prefix: str) -> None:
    """Nodes admitting on their grants and draws let in exactly the free slots, and then draw nothing."""
    clock = Clock(NOW)
    small = RoomConfig("r", total_active_users=10, new_users_per_minute=6000, session_duration=5)
    one, two = node(redis_server_url, prefix, clock, small), node(redis_server_url, prefix, clock, small)
    one.snapshot("r", NOW)
    two.snapshot("r", NOW)
    await one.sync()
    await two.sync()
    admitted = 0
    for _ in range(20):
        for st in (one, two):
            if (st.snapshot("r", NOW).allowance or 0) > 0 or await st.draw("r", NOW):
                st.apply("r", Deltas(active=((S + 300, 1),), admitted=1), NOW)
                admitted += 1
    assert admitted == 10
    assert [await st.draw("r", NOW) for st in (one, two)] == [False, False]
    await one.aclose()
    await two.aclose()


async def test_a_node_that_knows_of_no_other_leaves_slots_for_the_others(redis_server_url: str, prefix: str) -> None:
    """A lone node's first sync, before any traffic, holds only what it could use: another node gets a slot."""
    clock = Clock(NOW)
    first, second = node(redis_server_url, prefix, clock), node(redis_server_url, prefix, clock)
    first.snapshot("r", NOW)
    await first.sync()  # alone, and nobody has visited yet
    held = first.snapshot("r", NOW).allowance
    assert held is not None and held < CONFIG.total_active_users // 4
    second.snapshot("r", NOW)
    await second.sync()
    snap = second.snapshot("r", NOW)
    assert (snap.allowance or 0) > 0 or await second.draw("r", NOW)
    await first.aclose()
    await second.aclose()


async def test_in_a_room_for_two_each_nodes_first_newcomer_gets_a_slot(redis_server_url: str, prefix: str) -> None:
    """Two idle nodes of a room for two: a newcomer on each gets in (one node's first draw does not take both)."""
    clock = Clock(NOW)
    tiny = RoomConfig("r", total_active_users=2, new_users_per_minute=6000, session_duration=5)
    nodes = [node(redis_server_url, prefix, clock, tiny) for _ in range(2)]
    for st in nodes:
        st.snapshot("r", NOW)
        await st.sync()
    for st in nodes:
        assert (st.snapshot("r", NOW).allowance or 0) > 0 or await st.draw("r", NOW)
        st.apply("r", Deltas(active=((S + 300, 1),), admitted=1), NOW)
    for st in nodes:
        await st.aclose()


async def test_nodes_admitting_on_their_allowance_hold_the_limit(redis_server_url: str, prefix: str) -> None:
    """Four nodes that admit whenever their allowance (or a draw) allows never pass total_active_users."""
    clock = Clock(NOW)
    nodes = [node(redis_server_url, prefix, clock) for _ in range(4)]
    admitted = 0
    for step in range(5):
        for index, st in enumerate(nodes):
            for _ in range(10 * (index + 1)):  # skewed traffic
                snap = st.snapshot("r", clock.now_ms)
                ok = snap.allowance is not None and snap.allowance > 0
                if not ok and snap.pool:
                    ok = await st.draw("r", clock.now_ms)
                if ok:
                    st.apply("r", Deltas(active=((S + 300, 1),), admitted=1), clock.now_ms)
                    admitted += 1
        for st in nodes:
            await st.sync()
        clock.now_ms += 1000
        del step
    assert admitted == CONFIG.total_active_users
    for st in nodes:
        await st.sync()
        assert st.snapshot("r", clock.now_ms).active == CONFIG.total_active_users
        await st.aclose()


@pytest.fixture
def own_redis() -> Iterator[services.RedisServer]:
    """A Redis of this test's own, to freeze and restart."""
    with services.private_redis() as server:
        yield server


async def test_a_frozen_redis_holds_and_merges_each_batch_once(own_redis: services.RedisServer, prefix: str) -> None:
    """While Redis hangs, decisions go on locally; once it resumes, every batch is merged exactly once."""
    clock = Clock(NOW)
    st = node(own_redis.url, prefix, clock, timeout=0.2)
    st.apply("r", Deltas(active=((S + 600, 5),), admitted=5), NOW)
    await st.sync()
    own_redis.freeze()
    try:
        st.apply("r", Deltas(active=((S + 600, 3),), admitted=3), NOW)
        with pytest.raises(Exception):  # noqa: B017 - a timeout of whichever kind the client raises
            await st.sync()
        assert not st.health().healthy
        assert st.snapshot("r", NOW).active == 8
        st.apply("r", Deltas(active=((S + 600, 1),), admitted=1), NOW)
        with pytest.raises(Exception):  # noqa: B017
            await st.sync()
    finally:
        own_redis.resume()
    await asyncio.sleep(0.3)  # the frozen server now runs what was queued
    await st.sync()
    assert st.health().healthy
    other = node(own_redis.url, prefix, clock)
    snap = await other.read("r", NOW)
    assert snap.active == 9
    await st.aclose()
    await other.aclose()


async def test_a_redis_restarted_empty_is_reseeded(own_redis: services.RedisServer, prefix: str) -> None:
    """A Redis that comes back without its data gets the nodes' last totals back."""
    clock = Clock(NOW)
    st = node(own_redis.url, prefix, clock, timeout=0.5)
    st.apply("r", Deltas(active=((S + 600, 7),), waiting=((S - 3, B, 4),), admitted=7), NOW)
    await st.sync()
    own_redis.stop()
    own_redis.start()
    with contextlib.suppress(ConnectionError):  # the pooled connection died with the old server
        await st.sync()
    await st.sync()
    other = node(own_redis.url, prefix, clock)
    snap = await other.read("r", NOW)
    assert (snap.active, snap.waiting, snap.present) == (7, 4, 4)
    assert snap.queue.ahead(S) == 4
    await st.aclose()
    await other.aclose()


async def _empty_the_store(client: Redis, prefix: str) -> None:
    """As a Redis restarted without its data looks to the nodes: every key of the deployment gone."""
    keys = [k async for k in client.scan_iter(match=f"*{prefix}*")]
    assert keys
    await client.delete(*keys)


async def test_a_reseed_from_an_older_view_gets_the_later_batches_back(
    redis_server_url: str, client: Redis, prefix: str
) -> None:
    """A node whose batch merged after the seeding node's last view resends it to the re-seeded store."""
    clock = Clock(NOW)
    seeder, later = node(redis_server_url, prefix, clock), node(redis_server_url, prefix, clock)
    seeder.apply("r", Deltas(active=((S + 600, 5),), admitted=5), NOW)
    await seeder.sync()
    later.apply("r", Deltas(active=((S + 600, 3),), waiting=((S - 3, B, 2),), admitted=3), NOW)
    await later.sync()  # answered: the seeder's view does not have it
    await _empty_the_store(client, prefix)
    await seeder.sync()
    await later.sync()
    reader = node(redis_server_url, prefix, clock)
    snap = await reader.read("r", NOW)
    assert (snap.active, snap.waiting) == (8, 2)
    for st in (seeder, later, reader):
        await st.aclose()


async def test_a_batch_whose_answer_was_lost_is_merged_once_after_a_reseed(
    redis_server_url: str, client: Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch merged before the store emptied, whose answer never came, is not merged again when resent."""
    clock = Clock(NOW)
    seeder, lost = node(redis_server_url, prefix, clock), node(redis_server_url, prefix, clock)
    seeder.apply("r", Deltas(active=((S + 600, 5),), admitted=5), NOW)
    await seeder.sync()
    merge = lost._pipeline

    async def answer_lost(*args: object) -> object:
        await merge(*args)  # type: ignore[arg-type]
        raise ConnectionError("the answer was lost")

    monkeypatch.setattr(lost, "_pipeline", answer_lost)
    lost.apply("r", Deltas(active=((S + 600, 3),), admitted=3), NOW)
    with pytest.raises(ConnectionError):
        await lost.sync()
    monkeypatch.setattr(lost, "_pipeline", merge)
    await seeder.sync()  # its view now holds the batch whose answer was lost
    await _empty_the_store(client, prefix)
    await seeder.sync()
    await lost.sync()  # resends the batch: the seed says it holds it
    reader = node(redis_server_url, prefix, clock)
    assert (await reader.read("r", NOW)).active == 8
    for st in (seeder, lost, reader):
        await st.aclose()


async def test_a_store_reseeded_with_fewer_admissions_grants_no_draw(
    redis_server_url: str, client: Redis, prefix: str
) -> None:
    """A node that saw more admissions than a re-seeded store holds draws nothing until it syncs."""
    clock = Clock(NOW)
    small = RoomConfig("r", total_active_users=10, new_users_per_minute=6000, session_duration=5)
    seeder, later = node(redis_server_url, prefix, clock, small), node(redis_server_url, prefix, clock, small)
    seeder.apply("r", Deltas(active=((S + 600, 5),), admitted=5), NOW)
    await seeder.sync()
    later.apply("r", Deltas(active=((S + 600, 3),), admitted=3), NOW)
    await later.sync()  # its view: 8 admitted, 2 slots free
    await _empty_the_store(client, prefix)
    await seeder.sync()  # the store again, from a view of 5 admitted
    # The seeder holds the two free slots; the store's count of admissions is 3 short.
    await client.hset(f"{{{prefix}:r}}:nodes", f"g:{seeder.node_id}", 2)
    assert not await later.draw("r", NOW)
    await seeder.aclose()
    await later.aclose()


async def test_a_batch_held_while_redis_was_down_is_merged_into_the_reseed(
    own_redis: services.RedisServer, prefix: str
) -> None:
    """Decisions made while Redis was down reach the store it comes back as, empty, beside the seed."""
    clock = Clock(NOW)
    st = node(own_redis.url, prefix, clock, timeout=0.5)
    st.apply("r", Deltas(active=((S + 600, 7),), admitted=7), NOW)
    await st.sync()
    own_redis.stop()
    st.apply("r", Deltas(active=((S + 600, 2),), admitted=2), NOW)
    with pytest.raises(Exception):  # noqa: B017 - refused or reset, whichever the client raises
        await st.sync()
    own_redis.start()
    with contextlib.suppress(ConnectionError):  # the pooled connection died with the old server
        await st.sync()
    await st.sync()
    other = node(own_redis.url, prefix, clock)
    assert (await other.read("r", NOW)).active == 9
    await st.aclose()
    await other.aclose()


async def test_the_seeding_nodes_own_moves_out_of_a_place_count_against_the_seed(
    redis_server_url: str, client: Redis, prefix: str
) -> None:
    """A queued visitor let in, and a session renewed, by the node that re-seeds: both leave the seeded place."""
    clock = Clock(NOW)
    st = node(redis_server_url, prefix, clock)
    st.apply("r", Deltas(active=((S + 600, 5),), waiting=((S - 3, B, 4),), admitted=5), NOW)
    await st.sync()
    await _empty_the_store(client, prefix)
    # Since its last view: one of the four let in (its place left, a session), one session renewed.
    renewed = ((S + 600, -1), (S + 900, 1))
    st.apply("r", Deltas(active=((S + 900, 1), *renewed), waiting=((S - 3, B, -1),), admitted=1), NOW)
    await st.sync()  # finds the store empty: seeds it from its view with this batch
    reader = node(redis_server_url, prefix, clock)
    snap = await reader.read("r", NOW)
    assert (snap.active, snap.waiting) == (6, 3)
    for state in (st, reader):
        await state.aclose()


def test_effective_config_is_what_nodes_bind() -> None:
    """Nodes reckon the free slots on the room's effective configuration (the gateway passes it)."""
    assert effective_config is not None


async def test_aclose_flushes_the_last_deltas(redis_server_url: str, prefix: str) -> None:
    """A node stopping (SIGTERM) writes what it decided since its last sync before it exits."""
    clock = Clock(NOW)
    st = node(redis_server_url, prefix, clock)
    st.apply("r", Deltas(active=((S + 600, 4),), admitted=4), NOW)
    await st.aclose()
    other = node(redis_server_url, prefix, clock)
    assert (await other.read("r", NOW)).active == 4
    await other.aclose()


async def test_open_policy_lets_visitors_through_for_a_while(prefix: str) -> None:
    """With policy open, an unreachable Redis opens the rooms, and only for open_for_s."""
    clock = Clock(NOW)
    gone = f"redis://127.0.0.1:{services.free_port()}/0"
    st = node(gone, prefix, clock, policy="open", open_for_s=30, timeout=0.2)
    st.snapshot("r", NOW)
    with pytest.raises(ConnectionError):
        await st.sync()
    assert st.open and st.health().open and not st.health().healthy
    clock.now_ms = NOW + 31_000
    with pytest.raises(ConnectionError):
        await st.sync()
    assert not st.open
    await st.aclose()


async def test_hold_policy_keeps_to_a_share_of_what_the_last_totals_free(prefix: str) -> None:
    """With policy hold, a node that loses Redis admits at most its share of the free slots it last knew."""
    clock = Clock(NOW)
    gone = f"redis://127.0.0.1:{services.free_port()}/0"
    st = node(gone, prefix, clock, timeout=0.2)
    st.snapshot("r", NOW)
    with pytest.raises(ConnectionError):
        await st.sync()
    snap = st.snapshot("r", NOW)
    assert not st.open
    assert snap.allowance is not None and 0 < snap.allowance <= CONFIG.total_active_users * 0.9
    assert snap.pool is False
    st.apply("r", Deltas(active=((S + 300, snap.allowance),), admitted=snap.allowance), NOW)
    assert st.snapshot("r", NOW).allowance == 0
    assert await st.draw("r", NOW) is False  # nothing more until Redis answers again
    await st.aclose()


def test_the_scripts_take_their_constants_from_python() -> None:
    """Each Lua script gets the core's windows from Python and defines none itself, so the backends cannot drift."""
    from importlib import resources

    from antechamber.core.types import CAP_WINDOW_S, PRESENT_MS
    from antechamber.state.redis import _LUA_CONSTANTS, _script

    assert _LUA_CONSTANTS["CAP_WINDOW_S"] == CAP_WINDOW_S and _LUA_CONSTANTS["PRESENT_MS"] == PRESENT_MS
    for name in ("sync.lua", "draw.lua"):
        raw = resources.files("antechamber.state").joinpath("lua", name).read_text()
        assert not any(f"local {constant} =" in raw for constant in _LUA_CONSTANTS), name
        assert _script(name).startswith(f"local REFRESH_MS = {_LUA_CONSTANTS['REFRESH_MS']}\n")
