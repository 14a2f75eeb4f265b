"""A bounded surge through a real gateway process: the analytics endpoint and the metrics tell what it did.

On SQLite and on PostgreSQL: the gateway writes its minutes into the store the API reads,
and serves Prometheus metrics on a listener of its own (``--metrics``) and on the API's port.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.deployment import (
    COOKIE,
    GREETING,
    HOST,
    Deployment,
    Samples,
    Visitor,
    analytics,
    make_room,
    run_crowd,
    scrape,
    start_deployment,
)
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
    """One node on the in-process state, serving the API, the gateway and the metrics."""
    with http_origin() as origin:
        deployment = start_deployment(
            tmp_path, nodes=1, database_url=store_url, state="memory", origin=origin, metrics=True
        )
        try:
            yield deployment
        finally:
            deployment.stop()
            assert "Traceback" not in deployment.nodes[0].output(), deployment.nodes[0].output()[-3000:]


def _come_back(deployment: Deployment, admitted: list[Visitor]) -> tuple[int, int]:
    """Each admitted visitor makes one more request; returns how many were made and how many renewed the session."""
    renewed = 0
    url = f"http://127.0.0.1:{deployment.nodes[0].gateway_port}/"
    with httpx.Client(timeout=10) as client:
        for visitor in admitted:
            response = client.get(url, headers={"host": HOST, "cookie": f"{COOKIE}={visitor.cookie}"})
            assert response.status_code == 200 and response.text == GREETING
            renewed += any(c.startswith(COOKIE + "=") for c in response.headers.get_list("set-cookie"))
    return len(admitted), renewed


async def _while_the_surge_runs(deployment: Deployment, room_id: str, metrics_url: str) -> int:
    """Mid-surge, a scrape and the analytics agree (between two 5 s hand-overs) with a queue and the limit held.

    Returns the admissions they agreed on.
    """
    room = (("room", room_id),)
    await asyncio.sleep(8)  # the line has formed and the first minutes are written
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        seen = await asyncio.to_thread(scrape, metrics_url)
        summary = (await asyncio.to_thread(analytics, deployment, room_id)).json()["result"]["summary"]
        again = await asyncio.to_thread(scrape, metrics_url)
        admitted = seen[("antechamber_new_users_admitted_total", room)]
        if admitted == summary["new_users"] == again[("antechamber_new_users_admitted_total", room)]:
            assert 0 < admitted <= RATE
            assert 0 < seen[("antechamber_queued_users", room)] <= VISITORS
            assert seen[("antechamber_active_users", room)] <= RATE
            assert summary["peak_active_users"] <= RATE and summary["peak_queued_users"] > 0
            return int(admitted)
        await asyncio.sleep(0.5)
    raise AssertionError("the metrics and the analytics never agreed during the surge")


async def test_the_analytics_match_the_surge(deployment: Deployment) -> None:
    """Mid-surge the metrics and analytics agree; after it, admissions, peaks, limits and waits are the crowd's."""
    room_id = await asyncio.to_thread(make_room, deployment, RATE)
    node_metrics = f"http://127.0.0.1:{deployment.nodes[0].metrics_port}/metrics"
    surge = asyncio.ensure_future(run_crowd(deployment, visitors=VISITORS, arrive_over_s=3, duration_s=DURATION_S))
    during = await _while_the_surge_runs(deployment, room_id, node_metrics)
    crowd = await surge
    assert during <= len(crowd.admitted)
    admitted = crowd.admitted
    assert crowd.server_errors() == 0 and not crowd.errors
    assert 0 < len(admitted) < VISITORS  # some waited, some were let in after a wait
    # The users let in come back once: sessions older than the renewal step (5 s) renew.
    returns, renewed = await asyncio.to_thread(_come_back, deployment, admitted)
    assert renewed >= 1
    result: dict[str, Any] = {}
    deadline = time.monotonic() + 15  # the gateway writes every 5 s
    while time.monotonic() < deadline:
        result = (await asyncio.to_thread(analytics, deployment, room_id)).json()["result"]
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
        true = crowd.wait_percentile(q)
        assert abs(got - true) <= 0.05 * true + 1.0, (q, got, true)
    assert summary["longest_wait_seconds"] == pytest.approx(max(waits), rel=0.05, abs=1.0)
    # The metrics, scraped from the gateway's own listener and from the API's port, say the same.
    api_metrics = deployment.api.removesuffix("/client/v4") + "/metrics"
    room = (("room", room_id),)
    for url in (node_metrics, api_metrics):
        seen = await asyncio.to_thread(scrape, url)
        assert seen[("antechamber_new_users_admitted_total", room)] == len(admitted)
        assert seen[("antechamber_wait_seconds_count", room)] == len(admitted)
        assert seen[("antechamber_active_users", room)] == len(admitted)
        assert seen[("antechamber_queued_users", room)] == VISITORS - len(admitted)
        assert seen[("antechamber_active_users_limit", room)] == RATE
        assert seen[("antechamber_state_store_up", ())] == 1
        assert seen[("antechamber_config_revision", ())] >= 1
    # Request latencies by outcome: each visitor's first request is new, its later ones queued
    # until let in (each let in through the proxy), and the return visits are admitted.
    want = {
        "new": VISITORS,
        "queued": sum(len(v.statuses) for v in crowd.visitors) - VISITORS,
        "admitted": returns,
        "proxied": len(admitted) + returns,
    }
    got: dict[str, float] = {}
    seen_all: Samples = {}
    deadline = time.monotonic() + 15  # handed to the metrics every 5 s
    while time.monotonic() < deadline:
        seen_all = await asyncio.to_thread(scrape, node_metrics)
        got = {
            outcome: seen_all.get(
                ("antechamber_request_duration_seconds_count", (("outcome", outcome), ("room", room_id))), 0
            )
            for outcome in want
        }
        if got == want:
            break
        await asyncio.sleep(1)
    assert got == want
    proxied = (("outcome", "proxied"), ("room", room_id))
    assert 0 < seen_all[("antechamber_request_duration_seconds_sum", proxied)] < 10 * want["proxied"]
    # Time on origin: each renewal accrued its session's age, between the renewal step and the surge's length.
    assert seen_all[("antechamber_session_renewals_total", room)] == renewed
    time_on_origin = seen_all[("antechamber_time_on_origin_seconds_total", room)]
    assert 5 * renewed <= time_on_origin <= (DURATION_S + 5) * renewed
    assert not any(name == "antechamber_origin_errors_total" for name, _ in seen_all)
    exported = await asyncio.to_thread(analytics, deployment, room_id, format="csv")
    lines = list(csv.DictReader(io.StringIO(exported.text)))
    assert sum(int(line["new_users"]) for line in lines) == len(admitted)
