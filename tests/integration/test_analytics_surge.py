"""A bounded surge through a real gateway process: the analytics endpoint tells what the surge did.

On SQLite and on PostgreSQL: the gateway writes its minutes into the store the API reads.
"""

from __future__ import annotations

import asyncio
import csv
import io
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.deployment import Deployment, make_room, run_crowd, start_deployment
from tests.services import http_origin

pytestmark = [pytest.mark.slow]

RATE = 30  # new_users_per_minute and total_active_users
VISITORS = 50
DURATION_S = 20


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def deployment(tmp_path: Path, store_url: str) -> Iterator[Deployment]:
    """One node on the in-process state, serving the API and the gateway."""
    with http_origin() as origin:
        deployment = start_deployment(tmp_path, nodes=1, database_url=store_url, state="memory", origin=origin)
        try:
            yield deployment
        finally:
            deployment.stop()
            assert "Traceback" not in deployment.nodes[0].output(), deployment.nodes[0].output()[-3000:]


def _analytics(deployment: Deployment, room_id: str, **params: str) -> httpx.Response:
    url = f"{deployment.api}/zones/{deployment.zone_id}/waiting_rooms/{room_id}/analytics"
    return httpx.get(url, params=params, headers={"authorization": f"Bearer {deployment.token}"}, timeout=10)


async def test_the_analytics_match_the_surge(deployment: Deployment) -> None:
    """Admissions, peaks, limits and waits read back from the endpoint are those the crowd saw."""
    room_id = await asyncio.to_thread(make_room, deployment, RATE)
    crowd = await run_crowd(deployment, visitors=VISITORS, arrive_over_s=3, duration_s=DURATION_S)
    admitted = crowd.admitted
    assert crowd.server_errors() == 0 and not crowd.errors
    assert 0 < len(admitted) < VISITORS  # some waited, some were let in after a wait
    result: dict[str, Any] = {}
    deadline = time.monotonic() + 15  # the gateway writes every 5 s
    while time.monotonic() < deadline:
        result = (await asyncio.to_thread(_analytics, deployment, room_id)).json()["result"]
        summary = result["summary"]
        if summary["new_users"] == len(admitted) and summary["peak_active_users"] == len(admitted):
            break
        await asyncio.sleep(1)
    summary = result["summary"]
    assert summary["new_users"] == len(admitted), summary
    assert summary["peak_active_users"] == len(admitted)
    # The queue at its fullest: everyone not yet let in (places are held after the crowd stops).
    assert VISITORS - len(admitted) <= summary["peak_queued_users"] <= VISITORS
    minutes = result["minutes"]
    assert sum(m["new_users"] for m in minutes) == len(admitted)
    assert all(m["new_users"] <= RATE and m["new_users_limit"] == RATE for m in minutes)
    assert all(m["active_users_limit"] == RATE for m in minutes)
    waits = [v.admitted_at - v.arrival for v in admitted if v.admitted_at is not None]
    for q, got in ((50, summary["wait_p50_seconds"]), (90, summary["wait_p90_seconds"])):
        true = statistics.quantiles(waits, n=100, method="inclusive")[q - 1] if len(waits) > 1 else waits[0]
        assert abs(got - true) <= 0.05 * true + 1.0, (q, got, true)
    assert summary["longest_wait_seconds"] == pytest.approx(max(waits), rel=0.05, abs=1.0)
    exported = await asyncio.to_thread(_analytics, deployment, room_id, format="csv")
    lines = list(csv.DictReader(io.StringIO(exported.text)))
    assert sum(int(line["new_users"]) for line in lines) == len(admitted)
