"""Three gateway processes on one Redis and one PostgreSQL hold one room's limits together, through faults.

Every request of every visitor goes to a node picked at random, so each visitor's
place in line has to hold across nodes (it travels in the cookie) and the nodes
have to share the free slots (through Redis). Bounded: about 150 visitors, under
a minute a test, all on loopback.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import services
from tests.integration.deployment import (
    HOST,
    Deployment,
    http_origin,
    room_status,
    run_crowd,
    start_deployment,
)

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

LIMIT = 40  # total_active_users and new_users_per_minute
VISITORS = 120


@pytest.fixture
def origin() -> Iterator[str]:
    with http_origin() as url:
        yield url


@pytest.fixture
def redis_server() -> Iterator[services.RedisServer]:
    """A Redis of this test's own (the fault tests freeze and restart it)."""
    with services.private_redis() as server:
        yield server


@pytest.fixture
def deployment(
    tmp_path: Path, postgres_url: str, redis_server: services.RedisServer, origin: str
) -> Iterator[Deployment]:
    """Three nodes, the first also serving the API."""
    deployment = start_deployment(tmp_path, nodes=3, database_url=postgres_url, state=redis_server.url, origin=origin)
    try:
        yield deployment
    finally:
        deployment.stop()
        for node in deployment.nodes:
            assert "Traceback" not in node.output(), node.output()[-3000:]


def make_room(deployment: Deployment) -> str:
    room = deployment.sdk().waiting_rooms.create(
        zone_id=deployment.zone_id,
        host=HOST,
        name=f"sale_{uuid.uuid4().hex[:8]}",
        new_users_per_minute=LIMIT,
        total_active_users=LIMIT,
        session_duration=5,
    )
    assert room is not None and room.id is not None
    time.sleep(2.5)  # every node follows the store within 2 s
    return room.id


async def sample_active(deployment: Deployment, room_id: str, seconds: float, into: list[int]) -> None:
    """The status API's active count (every node together), once a second."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        active, _queued = await asyncio.to_thread(room_status, deployment, room_id)
        into.append(active)
        await asyncio.sleep(1)


async def test_three_nodes_hold_the_limits_and_the_order(deployment: Deployment) -> None:
    """A surge over three nodes keeps active users and the new-user rate within 1.05 x the limits, in FIFO order."""
    room_id = make_room(deployment)
    seen: list[int] = []
    crowd, _ = await asyncio.gather(
        run_crowd(deployment, visitors=VISITORS, arrive_over_s=6, duration_s=48),
        sample_active(deployment, room_id, 48, seen),
    )
    admitted = len(crowd.admitted)
    assert crowd.server_errors() == 0 and not crowd.errors
    # Sessions (5 min) outlast the test, so admissions in any 60 s are the active users too.
    assert admitted <= LIMIT * 1.05
    assert crowd.most_in_any(60) <= LIMIT * 1.05
    assert max(seen) <= LIMIT * 1.05
    assert admitted >= LIMIT * 0.9  # the capacity was used (the limit binds by the third refresh)
    assert crowd.kendall_tau() <= 0.05
    await asyncio.sleep(2.5)
    active, queued = room_status(deployment, room_id)
    assert active == admitted
    assert queued == VISITORS - admitted
