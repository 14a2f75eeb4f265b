"""Redis Cluster: a room's keys share one slot (its hash tag), and one sync reaches rooms on every primary.

The cluster (three primaries on loopback ports, no replicas) starts once for the module.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from antechamber.core.counters import Deltas
from antechamber.core.types import RoomConfig
from antechamber.state.redis import RedisState, room_keys
from tests import services
from tests.state.backends import Clock

pytestmark = pytest.mark.redis

NOW = 1_800_000_000_000
S = NOW // 1000


@pytest.fixture(scope="module")
def cluster_url() -> Iterator[str]:
    """One small cluster for the whole module (it takes a couple of seconds to form)."""
    with services.private_redis_cluster() as url:
        yield url


@pytest.fixture
def prefix() -> str:
    """A key prefix of this test's own."""
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def cluster(cluster_url: str) -> AsyncIterator[RedisCluster]:
    """A plain cluster client to look at slots and nodes."""
    client = RedisCluster.from_url(cluster_url.replace("redis+cluster://", "redis://", 1))
    await client.initialize()
    try:
        yield client
    finally:
        await client.aclose()


async def keyslot(cluster: RedisCluster, key: str) -> int:
    """The slot of a key as the server reckons it (``CLUSTER KEYSLOT``)."""
    return int(await cluster.execute_command("CLUSTER KEYSLOT", key, target_nodes=RedisCluster.RANDOM))


async def rooms_on_every_primary(cluster: RedisCluster, prefix: str) -> dict[str, str]:
    """Room ids, one per primary: room id -> the name (host:port) of the primary that holds it."""
    primaries = {node.name for node in cluster.get_primaries()}
    found: dict[str, str] = {}
    for index in range(200):
        room_id = f"room-{index}"
        slot = await keyslot(cluster, room_keys(prefix, room_id)[0])
        owner = cluster.nodes_manager.get_node_from_slot(slot).name
        if owner not in found.values():
            found[room_id] = owner
        if set(found.values()) == primaries:
            break
    assert len(set(found.values())) >= 2, found
    return found


def node(url: str, prefix: str, clock: Clock, rooms: Any, total: int = 100, timeout: float = 2.0) -> RedisState:
    configs = {
        room_id: RoomConfig(room_id, total_active_users=total, new_users_per_minute=6000, session_duration=5)
        for room_id in rooms
    }
    state = RedisState(url, prefix=prefix, clock=clock, timeout=timeout)
    state.bind(lambda room_id, now_ms: configs.get(room_id))
    return state


def primary_client(name: str) -> Redis:
    """A plain client on one primary (name ``host:port``)."""
    host, port = name.rsplit(":", 1)
    return Redis(host=host, port=int(port))


def count_pipelines(state: RedisState) -> list[int]:
    """Count the pipelines the state opens (one per sync, more only to resend)."""
    calls: list[int] = []
    client: Any = state.client
    original = client.pipeline

    def pipeline(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    client.pipeline = pipeline
    return calls


async def test_every_key_of_a_room_is_in_one_slot(cluster_url: str, cluster: RedisCluster, prefix: str) -> None:
    """Every key a room writes (and every key sync.lua may touch) is in the slot of its hash tag."""
    clock = Clock(NOW)
    st = node(cluster_url, prefix, clock, ["r"])
    st.apply("r", Deltas(active=((S + 60, 1),), waiting=((S, NOW // 10_000, 2),), admitted=1, pace_us=10_000), NOW)
    await st.sync()
    tag_slot = await keyslot(cluster, f"{{{prefix}:r}}")
    assert {await keyslot(cluster, key) for key in room_keys(prefix, "r")} == {tag_slot}
    written = [key.decode() async for key in cluster.scan_iter(match=f"*{prefix}*")]
    assert len(written) >= 4
    assert {await keyslot(cluster, key) for key in written} == {tag_slot}
    await st.aclose()


async def test_rooms_on_different_primaries_sync_in_one_pipeline(
    cluster_url: str, cluster: RedisCluster, prefix: str
) -> None:
    """One sync sends every room, whichever primary holds it, in one pipeline; two nodes see each other's totals."""
    rooms = await rooms_on_every_primary(cluster, prefix)
    clock = Clock(NOW)
    one, two = node(cluster_url, prefix, clock, rooms), node(cluster_url, prefix, clock, rooms)
    await one.sync(list(rooms))  # creates the rooms (a new room takes a second round trip to seed)
    pipelines, commands = count_pipelines(one), one.commands
    for index, room_id in enumerate(rooms):
        one.apply(room_id, Deltas(active=((S + 600, index + 1),), admitted=index + 1), NOW)
        two.apply(room_id, Deltas(active=((S + 600, 10),), admitted=10), NOW)
    await one.sync()
    assert (len(pipelines), one.commands - commands) == (1, len(rooms))
    await two.sync()
    await one.sync()
    for index, room_id in enumerate(rooms):
        for st in (one, two):
            snap = st.snapshot(room_id, NOW)
            assert (snap.active, snap.admitted_last_minute) == (index + 11, index + 11), room_id
    assert one.health().healthy and two.health().healthy
    await one.aclose()
    await two.aclose()


async def test_draws_take_only_the_free_slots_on_every_primary(
    cluster_url: str, cluster: RedisCluster, prefix: str
) -> None:
    """On each primary's room, two nodes admitting on their grants and draws let in exactly the free slots."""
    rooms = await rooms_on_every_primary(cluster, prefix)
    clock = Clock(NOW)
    one, two = node(cluster_url, prefix, clock, rooms, total=10), node(cluster_url, prefix, clock, rooms, total=10)
    for st in (one, two):
        for room_id in rooms:
            st.snapshot(room_id, NOW)
        await st.sync()
    for room_id in rooms:
        admitted = 0
        for _ in range(20):
            for st in (one, two):
                if (st.snapshot(room_id, NOW).allowance or 0) > 0 or await st.draw(room_id, NOW):
                    st.apply(room_id, Deltas(active=((S + 600, 1),), admitted=1), NOW)
                    admitted += 1
        assert admitted == 10, room_id
        assert [await st.draw(room_id, NOW) for st in (one, two)] == [False, False]
    await one.aclose()
    await two.aclose()


async def test_a_primary_that_forgot_the_scripts_gets_them_again(
    cluster_url: str, cluster: RedisCluster, prefix: str
) -> None:
    """After SCRIPT FLUSH on one primary, a sync resends only that primary's rooms and a draw there still works."""
    rooms = await rooms_on_every_primary(cluster, prefix)
    clock = Clock(NOW)
    st = node(cluster_url, prefix, clock, rooms, total=10)
    for room_id in rooms:
        st.apply(room_id, Deltas(active=((S + 600, 1),), admitted=1), NOW)
    await st.sync()
    forgetful_room, forgetful = next(iter(rooms.items()))
    plain = primary_client(forgetful)
    try:
        await plain.script_flush()
        for room_id in rooms:
            st.apply(room_id, Deltas(active=((S + 600, 1),), admitted=1), NOW)
        before = st.commands
        await st.sync()
        assert st.commands - before == len(rooms) + 1  # every room, then the forgetful primary's again
        assert all(st.snapshot(room_id, NOW).active == 2 for room_id in rooms)
        await plain.script_flush()
        while (st.snapshot(forgetful_room, NOW).allowance or 0) > 0:  # spend the grant: the next slot is a draw
            st.apply(forgetful_room, Deltas(active=((S + 600, 1),), admitted=1), NOW)
        assert await st.draw(forgetful_room, NOW)
        assert (st.snapshot(forgetful_room, NOW).allowance or 0) > 0
    finally:
        await plain.aclose()
    await st.aclose()


async def test_a_primary_that_came_back_empty_is_reseeded(cluster_url: str, cluster: RedisCluster, prefix: str) -> None:
    """A primary that lost its data and scripts (restarted without persistence) gets its rooms' totals back."""
    rooms = await rooms_on_every_primary(cluster, prefix)
    clock = Clock(NOW)
    st = node(cluster_url, prefix, clock, rooms)
    for room_id in rooms:
        st.apply(room_id, Deltas(active=((S + 600, 7),), admitted=7), NOW)
    await st.sync()
    emptied_room, emptied = next(iter(rooms.items()))
    plain = primary_client(emptied)
    try:
        await plain.flushall()
        await plain.script_flush()
    finally:
        await plain.aclose()
    await st.sync()
    other = node(cluster_url, prefix, clock, rooms)
    for room_id in rooms:
        assert (await other.read(room_id, NOW)).active == 7, room_id
    assert await cluster.exists(room_keys(prefix, emptied_room)[0]) == 1
    await st.aclose()
    await other.aclose()


async def test_an_unreachable_cluster_holds_instead_of_failing_to_start(prefix: str) -> None:
    """With no seed node reachable, the node starts and holds; syncs raise a RedisError, closing is quiet."""
    clock = Clock(NOW)
    st = node(f"redis+cluster://127.0.0.1:{services.free_port()}", prefix, clock, ["r"], timeout=0.2)
    await st.start()
    assert not st.health().healthy
    st.apply("r", Deltas(active=((S + 600, 1),), admitted=1), NOW)
    with pytest.raises(RedisError):
        await st.sync()
    assert st.snapshot("r", NOW).active == 1
    await st.aclose()
