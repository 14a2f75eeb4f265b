"""The operator setting that lowers the 200-user minimum for small sites (DESIGN section 3)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from antechamber.api.app import create_app
from antechamber.db import accounts, tokens
from antechamber.db.engine import Database
from tests.api.support import BASE, T0, FakeClock, iso

SMALL = {"name": "tiny", "host": "shop.example.com", "new_users_per_minute": 5, "total_active_users": 5}


@pytest.fixture
async def clients(database: Database) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, str]]:
    """Two apps on one store in one process: one lowered to 5, one on Cloudflare's default."""
    async with database.begin() as connection:
        zone = await accounts.create_zone(connection, "example.com")
        secret, _ = await tokens.create_token(connection, "write")
    headers = {"Authorization": f"Bearer {secret}"}
    lowered = create_app(database, clock=FakeClock(), min_users=5)
    default = create_app(database, clock=FakeClock())
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=lowered), base_url=BASE, headers=headers) as small,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=default), base_url=BASE, headers=headers) as strict,
    ):
        yield small, strict, zone.id


async def test_lowered_minimum_accepts_small_limits(clients: tuple[httpx.AsyncClient, httpx.AsyncClient, str]) -> None:
    """With the minimum lowered to 5, rooms, patches and events take limits of 5 but not 4."""
    small, _strict, zone_id = clients
    created = await small.post(f"/zones/{zone_id}/waiting_rooms", json=SMALL)
    assert created.status_code == 200, created.text
    room_id = created.json()["result"]["id"]
    assert created.json()["result"]["total_active_users"] == 5

    too_low = await small.patch(f"/zones/{zone_id}/waiting_rooms/{room_id}", json={"total_active_users": 4})
    assert too_low.status_code == 400
    assert "greater than or equal to 5" in too_low.json()["errors"][0]["message"]

    event = {
        "name": "launch",
        "event_start_time": iso(T0 + timedelta(days=1)),
        "event_end_time": iso(T0 + timedelta(days=1, hours=1)),
        "new_users_per_minute": 6,
        "total_active_users": 7,
    }
    made = await small.post(f"/zones/{zone_id}/waiting_rooms/{room_id}/events", json=event)
    assert made.status_code == 200, made.text


async def test_default_minimum_is_cloudflares(clients: tuple[httpx.AsyncClient, httpx.AsyncClient, str]) -> None:
    """An app left on the default still rejects 199 and 0 with Cloudflare's minimum, beside a lowered one."""
    small, strict, zone_id = clients
    for value in (199, 0):
        rejected = await strict.post(f"/zones/{zone_id}/waiting_rooms", json={**SMALL, "total_active_users": value})
        assert rejected.status_code == 400
        assert "greater than or equal to 200" in rejected.json()["errors"][0]["message"]
    # The lowered app, used in between, does not leak its minimum into the other one.
    assert (await small.post(f"/zones/{zone_id}/waiting_rooms", json=SMALL)).status_code == 200
    again = await strict.post(
        f"/zones/{zone_id}/waiting_rooms", json={**SMALL, "name": "other", "host": "b.example.com"}
    )
    assert again.status_code == 400


async def test_openapi_documents_cloudflares_minimum(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient, str],
) -> None:
    """The OpenAPI document keeps Cloudflare's minimum of 200 for the user limits."""
    _small, strict, _zone = clients
    schema = (await strict.get("/openapi.json")).json()
    room_input = schema["components"]["schemas"]["RoomInput"]["properties"]
    assert room_input["total_active_users"]["minimum"] == 200
    assert room_input["new_users_per_minute"]["minimum"] == 200


async def test_localhost_is_a_valid_room_host(clients: tuple[httpx.AsyncClient, httpx.AsyncClient, str]) -> None:
    """``localhost`` passes the host syntax check (single-label names otherwise do not)."""
    _small, strict, zone_id = clients
    body = {**SMALL, "total_active_users": 200, "new_users_per_minute": 200}
    local = await strict.post(f"/zones/{zone_id}/waiting_rooms", json={**body, "host": "localhost"})
    assert local.status_code == 400
    assert "not in the zone" in local.json()["errors"][0]["message"]  # syntax passed; only the zone differs
    single = await strict.post(f"/zones/{zone_id}/waiting_rooms", json={**body, "host": "intranet"})
    assert "valid hostname" in single.json()["errors"][0]["message"]
