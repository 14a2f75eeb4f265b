"""Following the config store: changes made through the management API reach the gateway on their own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from antechamber.api.app import create_app
from antechamber.db import accounts, rules, tokens
from antechamber.db.revision import bump_revision
from antechamber.gateway.follower import DEFAULT_INTERVAL, fingerprint, load_stored
from antechamber.gateway.live_status import StateStatusSource
from tests.gateway.harness import HOST, Site, running_site
from tests.gateway.test_proxy import cookie_of


async def eventually(check: Callable[[], Any], *, limit: float = 15.0) -> None:
    """Wait until ``check()`` is truthy (a generous limit: this pins behaviour, not speed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not await check():
        assert loop.time() < deadline, "the gateway never saw the change"
        await asyncio.sleep(0.05)


def rooms_url(site: Site) -> str:
    """The zone's waiting-room collection in the management API."""
    return f"/zones/{site.zone_id}/waiting_rooms"


@pytest.fixture
async def polling_site(tmp_path: Path) -> AsyncIterator[Site]:
    """A site whose follower polls in the background at the default interval."""
    async with running_site(tmp_path, interval=DEFAULT_INTERVAL) as site:
        yield site


@pytest.fixture
async def api(polling_site: Site) -> AsyncIterator[httpx.AsyncClient]:
    """The real management API on the same store, its status endpoint fed by the gateway's state."""
    site = polling_site
    async with site.db.begin() as connection:
        secret, _ = await tokens.create_token(connection, "write")
    status = StateStatusSource(site.state, site.follower, clock=site.clock)
    app = create_app(site.db, status, clock=lambda: datetime.fromtimestamp(site.clock() / 1000, tz=UTC))
    transport = httpx.ASGITransport(app=app)
    base = "http://api.test/client/v4"
    async with httpx.AsyncClient(
        transport=transport, base_url=base, headers={"authorization": f"Bearer {secret}"}
    ) as client:
        yield client


class TestFollowingTheApi:
    def test_poll_interval_keeps_the_two_second_promise(self) -> None:
        """The default poll interval leaves most of the 2 s budget for loading the store."""
        assert DEFAULT_INTERVAL <= 1.0

    async def test_created_room_and_edits_reach_the_gateway(self, polling_site: Site, api: httpx.AsyncClient) -> None:
        """A room created via the API starts enforcing without a restart, and a PATCH to queue_all follows."""
        site = polling_site
        created = await api.post(
            rooms_url(site), json={"name": "shop", "host": HOST, "new_users_per_minute": 200, "total_active_users": 200}
        )
        assert 200 == created.status_code, created.text
        room_id = created.json()["result"]["id"]

        async def covered() -> bool:
            async with site.visitor() as visitor:
                return cookie_of(await visitor.get("/")) is not None

        await eventually(covered)
        patched = await api.patch(
            f"{rooms_url(site)}/{room_id}", json={"queue_all": True, "json_response_enabled": True}
        )
        assert 200 == patched.status_code

        async def held() -> bool:
            async with site.visitor(accept="application/json") as visitor:
                response = await visitor.get("/")
                return response.headers.get("content-type") == "application/json" and "cfWaitingRoom" in response.json()

        await eventually(held)

        deleted = await api.delete(f"{rooms_url(site)}/{room_id}")
        assert 200 == deleted.status_code

        async def gone() -> bool:
            return site.follower.current.match(HOST, "/") is None

        await eventually(gone)

    async def test_status_endpoint_reports_gateway_numbers(self, polling_site: Site, api: httpx.AsyncClient) -> None:
        """The API's status shows the gateway's active and queued users and a wait estimate."""
        site = polling_site
        created = await api.post(
            rooms_url(site), json={"name": "shop", "host": HOST, "new_users_per_minute": 200, "total_active_users": 200}
        )
        room_id = created.json()["result"]["id"]
        await site.follower.refresh()
        await api.patch(f"{rooms_url(site)}/{room_id}", json={"queue_all": True})
        await site.follower.refresh()
        async with site.visitor() as a, site.visitor() as b:
            await a.get("/")
            await b.get("/")
        status = (await api.get(f"{rooms_url(site)}/{room_id}/status")).json()["result"]
        assert "queueing" == status["status"]
        assert (2, 0) == (status["estimated_queued_users"], status["estimated_total_active_users"])
        assert status["max_estimated_time_minutes"] >= 1


class TestFollowerDetails:
    async def test_rules_and_zone_setting_changes_are_seen(self, site: Site) -> None:
        """Rule and zone-setting changes (which touch no room row) still produce a new config."""
        room_id = await site.add_room(total_active_users=1, new_users_per_minute=60)
        before = site.follower.current
        async with site.db.begin() as connection:
            await rules.replace_rules(
                connection,
                room_id,
                [{"id": "r1", "expression": "true", "action": "bypass_waiting_room", "enabled": True}],
            )
        assert await site.follower.refresh()
        assert 1 == len(site.follower.current.rooms[room_id].rules)
        async with site.db.begin() as connection:
            await accounts.set_crawler_bypass(connection, site.zone_id, True)
        assert await site.follower.refresh()
        assert site.follower.current.rooms[room_id].crawler_bypass
        assert site.follower.current is not before

    async def test_unchanged_store_keeps_the_same_config(self, site: Site) -> None:
        """Polling an unchanged store swaps nothing (the hot path keeps its cached entries)."""
        await site.add_room(total_active_users=1, new_users_per_minute=60)
        current = site.follower.current
        assert not await site.follower.refresh()
        assert current is site.follower.current
        assert fingerprint(await load_stored(site.db)) == current.version

    async def test_store_outage_keeps_last_config(self, site: Site) -> None:
        """When the store cannot be read, the gateway keeps enforcing the last configuration, then follows again."""
        room_id = await site.add_room(total_active_users=1, new_users_per_minute=60)
        current = site.follower.current
        async with site.db.begin() as connection:
            await connection.execute(text("ALTER TABLE config_revision RENAME TO config_revision_away"))
        with pytest.raises(DBAPIError):
            await site.follower.poll()
        assert site.follower.current is current
        async with site.db.begin() as connection:
            await connection.execute(text("ALTER TABLE config_revision_away RENAME TO config_revision"))
            await bump_revision(connection)
            await rules.replace_rules(
                connection, room_id, [{"id": "r1", "expression": "true", "action": "bypass_waiting_room"}]
            )
        assert await site.follower.poll()
        assert 1 == len(site.follower.current.rooms[room_id].rules)


class TestDeletedRooms:
    async def test_a_deleted_room_leaves_the_state(self, tmp_path: Path) -> None:
        """When a room leaves the configuration, serve's hook drops its counters from the state."""
        from antechamber.core.counters import Deltas
        from antechamber.db import rooms
        from antechamber.server import forget_deleted_rooms

        async with running_site(tmp_path) as site:
            room_id = await site.add_room()
            forget_deleted_rooms(site.follower, site.state)
            now = site.clock()
            site.state.apply(room_id, Deltas(active=((now // 1000 + 300, 3),)), now)
            assert site.state.snapshot(room_id, now).active == 3
            async with site.db.begin() as connection:
                await rooms.delete_room(connection, room_id)
                await bump_revision(connection)
            await site.follower.refresh()
            assert room_id not in site.state._rooms  # nothing is kept for a deleted room
