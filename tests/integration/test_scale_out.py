"""Three gateway processes on one Redis and one PostgreSQL hold one room's limits together, through faults.

Every request of every visitor goes to a node picked at random, so each visitor's
place in line has to hold across nodes (it travels in the cookie) and the nodes
have to share the free slots (through Redis). Bounded: about 150 visitors, under
a minute a test, all on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import services
from tests.integration.deployment import (
    HOST,
    Crowd,
    Deployment,
    Node,
    Samples,
    analytics,
    make_room,
    room_status,
    run_crowd,
    scrape,
    start_deployment,
    store_health,
)
from tests.services import http_origin

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
    deployment = start_deployment(
        tmp_path, nodes=3, database_url=postgres_url, state=redis_server.url, origin=origin, metrics=True
    )
    try:
        yield deployment
    finally:
        deployment.stop()
        for node in deployment.nodes:
            assert "Traceback" not in node.output(), node.output()[-3000:]


async def sample_active(deployment: Deployment, room_id: str, seconds: float, into: list[int]) -> None:
    """The status API's active count (every node together), once a second."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        active, _queued = await asyncio.to_thread(room_status, deployment, room_id)
        into.append(active)
        await asyncio.sleep(1)


async def test_three_nodes_hold_the_limits_and_the_order(deployment: Deployment) -> None:
    """A surge over three nodes keeps active users and the new-user rate within 1.05 x the limits, in FIFO order."""
    room_id = make_room(deployment, LIMIT)
    seen: list[int] = []
    crowd, _ = await asyncio.gather(
        run_crowd(deployment, visitors=VISITORS, arrive_over_s=6, duration_s=48),
        sample_active(deployment, room_id, 48, seen),
    )
    admitted = len(crowd.admitted)
    # Shown with -s: the figures docs/SCALING.md quotes.
    print(
        f"\nadmitted {admitted}, most in 60 s {crowd.most_in_any(60)}, status peak {max(seen)}, "
        f"tau {crowd.kendall_tau():.4f}"
    )
    assert crowd.server_errors() == 0 and not crowd.errors
    # Sessions (5 min) outlast the test, so admissions in any 60 s are the active users too.
    assert admitted <= LIMIT * 1.05
    assert crowd.most_in_any(60) <= LIMIT * 1.05
    assert max(seen) <= LIMIT * 1.05
    assert admitted >= LIMIT * 0.9  # the capacity was used (the limit binds by the third refresh)
    assert crowd.kendall_tau() <= 0.05
    # The status API (every node's counters, synced each second) comes to the crowd's own count.
    await converged(deployment, room_id, admitted, VISITORS - admitted)
    await _the_analytics_and_metrics_add_up_across_nodes(deployment, room_id, crowd)


async def _the_analytics_and_metrics_add_up_across_nodes(deployment: Deployment, room_id: str, crowd: Crowd) -> None:
    """The analytics endpoint merges every node's minutes, and each node's metrics add up to what the crowd saw."""
    admitted = len(crowd.admitted)
    summary: dict[str, Any] = {}
    minutes: list[dict[str, Any]] = []
    deadline = time.monotonic() + 15  # each node writes its minutes every 5 s
    while time.monotonic() < deadline:
        result = (await asyncio.to_thread(analytics, deployment, room_id)).json()["result"]
        summary, minutes = result["summary"], result["minutes"]
        # Wait for what is asserted exactly: the peak queue before the last admissions may exceed the final one.
        if summary["new_users"] == admitted and summary["peak_active_users"] == admitted:
            break
        await asyncio.sleep(1)
    # Counters add across nodes; gauges (every node samples Redis's totals) take the largest.
    assert summary["new_users"] == admitted, summary
    assert summary["peak_active_users"] == admitted
    assert summary["peak_queued_users"] <= VISITORS
    assert sum(m["new_users"] for m in minutes) == admitted
    assert all(m["active_users_max"] <= LIMIT * 1.05 and m["active_users_limit"] == LIMIT for m in minutes)
    for q, got in ((50, summary["wait_p50_seconds"]), (90, summary["wait_p90_seconds"])):
        true = crowd.wait_percentile(q)
        assert abs(got - true) <= 0.05 * true + 1.0, (q, got, true)
    room = (("room", room_id),)
    requests = sum(len(v.statuses) for v in crowd.visitors)
    want = {"new": VISITORS, "queued": requests - VISITORS, "proxied": admitted}
    scrapes: list[Samples] = []
    deadline = time.monotonic() + 15  # each node hands its tallies to its metrics every 5 s
    while time.monotonic() < deadline:
        urls = [f"http://127.0.0.1:{node.metrics_port}/metrics" for node in deployment.nodes]
        scrapes = [await asyncio.to_thread(scrape, url) for url in urls]
        count = "antechamber_request_duration_seconds_count"
        got = {outcome: sum(s.get((count, (("outcome", outcome), *room)), 0) for s in scrapes) for outcome in want}
        if got == want:
            break
        await asyncio.sleep(1)
    assert got == want
    assert sum(s[("antechamber_new_users_admitted_total", room)] for s in scrapes) == admitted
    assert sum(s[("antechamber_wait_seconds_count", room)] for s in scrapes) == admitted
    assert sum(s[("antechamber_new_users_admitted_total", room)] > 0 for s in scrapes) >= 2  # the crowd was spread
    for samples in scrapes:
        assert samples[("antechamber_active_users", room)] == admitted
        assert samples[("antechamber_queued_users", room)] == VISITORS - admitted
        assert samples[("antechamber_state_store_up", ())] == 1


async def converged(deployment: Deployment, room_id: str, admitted: int, queued: int, within_s: float = 10) -> None:
    """The status API (every node's counters together) comes to the crowd's own count within ``within_s``."""
    deadline = time.monotonic() + within_s
    while True:
        active, waiting = await asyncio.to_thread(room_status, deployment, room_id)
        if (active, waiting) == (admitted, queued):
            return
        assert time.monotonic() < deadline, f"status {(active, waiting)} never came to {(admitted, queued)}"
        await asyncio.sleep(0.5)


async def test_a_frozen_redis_holds_the_limits_and_reconverges(
    deployment: Deployment, redis_server: services.RedisServer
) -> None:
    """Redis hanging mid-surge costs no visitor a 5xx or the limits; the counts re-converge once it answers."""
    room_id = make_room(deployment, LIMIT)

    healths: list[dict[str, object]] = []

    async def freeze() -> None:
        await asyncio.sleep(8)
        redis_server.freeze()
        await asyncio.sleep(6)
        healths.append(await asyncio.to_thread(store_health, deployment, room_id))
        await asyncio.sleep(2)
        redis_server.resume()

    crowd, _ = await asyncio.gather(run_crowd(deployment, visitors=VISITORS, arrive_over_s=12, duration_s=45), freeze())
    admitted = len(crowd.admitted)
    assert crowd.server_errors() == 0 and not crowd.errors
    assert admitted <= LIMIT * 1.05
    assert admitted >= LIMIT * 0.75
    # The status API said so while Redis hung, and says so no more.
    assert healths[0]["healthy"] is False and healths[0]["policy"] == "hold" and healths[0]["failing_since"]
    await converged(deployment, room_id, admitted, VISITORS - admitted)
    assert store_health(deployment, room_id)["healthy"] is True


async def test_a_redis_restarted_empty_is_reseeded(deployment: Deployment, redis_server: services.RedisServer) -> None:
    """Redis restarted without its data mid-surge gets the nodes' counts back; the limits still hold."""
    room_id = make_room(deployment, LIMIT)

    async def restart() -> None:
        await asyncio.sleep(10)
        redis_server.stop()
        await asyncio.to_thread(redis_server.start)

    crowd, _ = await asyncio.gather(run_crowd(deployment, visitors=VISITORS, arrive_over_s=6, duration_s=45), restart())
    admitted = len(crowd.admitted)
    assert crowd.server_errors() == 0 and not crowd.errors
    assert admitted <= LIMIT * 1.05
    await converged(deployment, room_id, admitted, VISITORS - admitted)


async def test_a_node_killed_mid_surge_loses_nobodys_place(deployment: Deployment) -> None:
    """A gateway killed and restarted mid-surge: the others go on, every place holds (it is in the cookie)."""
    make_room(deployment, LIMIT)
    victim = deployment.nodes[2]

    async def kill_and_restart() -> None:
        await asyncio.sleep(10)
        victim.stop(signal.SIGKILL)
        await asyncio.sleep(3)
        await asyncio.to_thread(victim.start)

    crowd, _ = await asyncio.gather(
        run_crowd(deployment, visitors=VISITORS, arrive_over_s=6, duration_s=48), kill_and_restart()
    )
    admitted = len(crowd.admitted)
    assert crowd.server_errors() == 0
    assert admitted <= LIMIT * 1.05
    assert admitted >= LIMIT * 0.75
    # Order holds across the restart: nobody went back to the end of the line.
    assert crowd.kendall_tau() <= 0.05


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def test_workers_share_one_port_and_stop_together(
    tmp_path: Path, redis_server: services.RedisServer, origin: str
) -> None:
    """--workers 2 runs two processes on the gateway's one port; SIGTERM stops them all gracefully, exit status 0.

    Both write their metrics to the shared directory, and a scrape of the metrics port reads them.
    """
    data = ["--data-dir", str(tmp_path / "data")]
    gateway_port, api_port, metrics_port = services.free_port(), services.free_port(), services.free_port()
    args = [*data, "--api", f"127.0.0.1:{api_port}", "--gateway", f"127.0.0.1:{gateway_port}", "--origin", origin]
    args += ["--metrics", f"127.0.0.1:{metrics_port}"]
    node = Node(
        "workers", [*args, "--state", redis_server.url, "--workers", "2"], gateway_port, api_port, tmp_path / "w.log"
    )
    node.start()
    try:
        assert node.process is not None
        workers = _children(node.process.pid)
        assert len(workers) == 2
        for _ in range(20):
            assert httpx.get(f"http://127.0.0.1:{gateway_port}/", headers={"host": HOST}, timeout=5).status_code == 200
        assert httpx.get(
            f"http://127.0.0.1:{api_port}/client/v4/zones/{'a' * 32}/waiting_rooms", timeout=5
        ).status_code in (401, 403)
        shared = tmp_path / "data" / "metrics"
        assert {pid for pid in workers if list(shared.glob(f"gauge_min_{pid}.db"))} == set(workers)
        for _ in range(10):  # either worker answers, with every worker's values
            scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
            up = [line for line in scraped.text.splitlines() if line.startswith("antechamber_state_store_up")]
            assert scraped.status_code == 200 and up == ["antechamber_state_store_up 1.0"], up
    finally:
        assert node.stop() == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    # A graceful stop in each worker: a second signal, forwarded when the first worker was done,
    # forced the other's exit and logged its cancelled lifespan.
    assert "Traceback" not in node.output(), node.output()[-3000:]
