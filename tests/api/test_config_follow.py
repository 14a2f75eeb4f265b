"""Gateway nodes follow the config store: every API write reaches a follower within 2 s, cheaply, on both stores."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from antechamber.db import rooms
from antechamber.db.engine import Database
from antechamber.gateway.config import GatewayConfig
from antechamber.gateway.follower import DEFAULT_INTERVAL, ConfigFollower
from tests.api.support import Api

#: The promise (DESIGN section 4): a change is on every node within this many seconds.
PROMISE = 2.0
ROOM = {"name": "shop", "host": "shop.example.com", "new_users_per_minute": 200, "total_active_users": 300}

POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
async def follower(api: Api) -> AsyncIterator[ConfigFollower]:
    """A follower on the API's store, polling in the background at the default interval."""
    following = ConfigFollower(api.db)
    await following.start()
    yield following
    await following.aclose()


async def seen_within(
    follower: ConfigFollower, write: Callable[[], Any], check: Callable[[GatewayConfig], bool]
) -> float:
    """Run ``write`` (an API call) and return the seconds until ``check`` holds for the follower's config."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    response = await write()
    assert response.status_code == 200, response.text
    while not check(follower.current):
        assert loop.time() - start < PROMISE, "the follower did not see the change in time"
        await asyncio.sleep(0.002)
    return loop.time() - start


@contextmanager
def statements_of(database: Database) -> Iterator[list[str]]:
    """Collect the SQL statements ``database``'s engine sends while the block runs."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)


async def wait_until(check: Callable[[], bool], limit: float = 10.0) -> None:
    """Wait until ``check()`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not check():
        assert loop.time() < deadline, "never happened"
        await asyncio.sleep(0.01)


def rule(expression: str) -> dict[str, Any]:
    return {"action": "bypass_waiting_room", "expression": expression}


async def admin(database: Database, sql: str) -> Any:
    """Run ``sql`` on PostgreSQL outside the app (a plain asyncpg connection to the server's own database)."""
    url = make_url(database.url).set(drivername="postgresql", database="postgres")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()


class TestEveryWritePath:
    async def test_each_api_write_reaches_a_follower_within_two_seconds(
        self, api: Api, follower: ConfigFollower
    ) -> None:
        """Every API write (room, event, rule, zone setting; create, edit, delete) reaches a follower within 2 s."""
        c = api.client
        latency: dict[str, float] = {}

        async def timed(name: str, write: Callable[[], Any], check: Callable[[GatewayConfig], bool]) -> None:
            latency[name] = await seen_within(follower, write, check)

        room_holder: dict[str, str] = {}

        async def create() -> httpx.Response:
            response = await c.post(api.rooms_url(), json=ROOM)
            room_holder["id"] = response.json()["result"]["id"]
            return response

        await timed("room create", create, lambda cfg: bool(cfg.rooms))
        room_id = room_holder["id"]
        room = api.room_url(room_id)

        def entry(cfg: GatewayConfig) -> Any:
            return cfg.rooms.get(room_id)

        await timed(
            "room PUT",
            lambda: c.put(room, json={**ROOM, "total_active_users": 400}),
            lambda cfg: entry(cfg).room.total_active_users == 400,
        )
        await timed(
            "room PATCH", lambda: c.patch(room, json={"queue_all": True}), lambda cfg: entry(cfg).room.queue_all
        )

        events_url = api.room_url(room_id, "/events")
        await timed(
            "event create",
            lambda: c.post(
                events_url,
                json={
                    "name": "launch",
                    "event_start_time": "2026-06-02T12:00:00.000Z",
                    "event_end_time": "2026-06-02T13:00:00.000Z",
                },
            ),
            lambda cfg: len(entry(cfg).events) == 1,
        )
        event_url = f"{events_url}/{entry(follower.current).events[0].id}"
        await timed(
            "event PATCH",
            lambda: c.patch(event_url, json={"suspended": True}),
            lambda cfg: any(e.suspended for e in entry(cfg).events),
        )
        await timed("event delete", lambda: c.delete(event_url), lambda cfg: not entry(cfg).events)

        rules_url = api.room_url(room_id, "/rules")

        def expressions(cfg: GatewayConfig) -> list[str]:
            return [r["expression"] for r in entry(cfg).rules]

        await timed(
            "rule POST",
            lambda: c.post(rules_url, json=rule("ip.src eq 192.0.2.1")),
            lambda cfg: expressions(cfg) == ["ip.src eq 192.0.2.1"],
        )
        rule_id = entry(follower.current).rules[0]["id"]
        await timed(
            "rule PATCH",
            lambda: c.patch(f"{rules_url}/{rule_id}", json={"expression": "ip.src eq 192.0.2.2"}),
            lambda cfg: expressions(cfg) == ["ip.src eq 192.0.2.2"],
        )
        await timed(
            "rule PUT",
            lambda: c.put(rules_url, json=[rule("ip.src eq 192.0.2.3"), rule("ip.src eq 192.0.2.4")]),
            lambda cfg: len(expressions(cfg)) == 2,
        )
        rule_id = entry(follower.current).rules[0]["id"]
        await timed(
            "rule DELETE",
            lambda: c.delete(f"{rules_url}/{rule_id}"),
            lambda cfg: expressions(cfg) == ["ip.src eq 192.0.2.4"],
        )

        settings = f"/zones/{api.zone_id}/waiting_rooms/settings"
        await timed(
            "zone settings PUT",
            lambda: c.put(settings, json={"search_engine_crawler_bypass": True}),
            lambda cfg: entry(cfg).crawler_bypass,
        )
        await timed(
            "zone settings PATCH",
            lambda: c.patch(settings, json={"search_engine_crawler_bypass": False}),
            lambda cfg: not entry(cfg).crawler_bypass,
        )
        await timed("room delete", lambda: c.delete(room), lambda cfg: room_id not in cfg.rooms)

        print(
            f"\n{'sqlite' if api.db.is_sqlite else 'postgres'} change latency (s): "
            f"max {max(latency.values()):.3f}, mean {sum(latency.values()) / len(latency):.3f}, "
            f"listening={follower.listening}"
        )
        assert follower.healthy


class TestCheapPolls:
    async def test_idle_poll_is_one_revision_query(self, api: Api) -> None:
        """With no change, a poll sends exactly one statement (the revision read), whatever the number of rooms."""
        for index in range(5):
            room = await api.create_room(name=f"room-{index}", host=f"r{index}.example.com")
            await api.create_event(room["id"])
        following = ConfigFollower(api.db)
        await following.refresh()  # no background polls: this test polls by hand
        try:
            assert not await following.poll()  # the held connection is open from here on
            with statements_of(api.db) as sent:
                for _ in range(10):
                    assert not await following.poll()
            assert 10 == len(sent)
            assert all("config_revision" in statement and statement.lstrip().startswith("SELECT") for statement in sent)

            await api.client.patch(api.room_url(room["id"]), json={"queue_all": True})
            with statements_of(api.db) as sent:
                assert await following.poll()  # the revision moved: one full load
                loaded = len(sent)
                assert not await following.poll()
            assert len(sent) == loaded + 1 and loaded > 2
        finally:
            await following.aclose()

    async def test_safety_net_reload_catches_writes_outside_the_api(self, api: Api) -> None:
        """A periodic full reload picks up a write that bumped no revision, and an unchanged one rebuilds nothing."""
        created = await api.create_room()
        following = ConfigFollower(api.db, reload_every=0)
        await following.refresh()
        try:
            current = following.current
            assert not await following.poll()  # reloaded (reload_every=0) but unchanged: same object
            assert following.current is current
            async with api.db.begin() as connection:
                stored = await rooms.get_room(connection, api.zone_id, created["id"])
                assert stored is not None
                body = {**stored.body, "suspended": True}
                await rooms.replace_room(connection, replace(stored, body=body), [("shop.example.com", "/")])
            assert await following.poll()
            assert following.current.rooms[created["id"]].room.suspended
        finally:
            await following.aclose()


class TestFailures:
    async def test_store_failure_keeps_the_config_and_recovers(self, api: Api) -> None:
        """While the store cannot be read the follower keeps its config and says so; afterwards it follows again."""
        created = await api.create_room()
        following = ConfigFollower(api.db, interval=0.05)
        await following.start()
        try:
            current = following.current
            async with api.db.begin() as connection:
                await connection.execute(text("ALTER TABLE config_revision RENAME TO config_revision_away"))
            await wait_until(lambda: not following.healthy)
            await asyncio.sleep(0.2)  # several failed polls
            assert following.current is current
            async with api.db.begin() as connection:
                await connection.execute(text("ALTER TABLE config_revision_away RENAME TO config_revision"))
            await wait_until(lambda: following.healthy)
            await seen_within(
                following,
                lambda: api.client.patch(api.room_url(created["id"]), json={"queue_all": True}),
                lambda cfg: cfg.rooms[created["id"]].room.queue_all,
            )
        finally:
            await following.aclose()

    @POSTGRES_ONLY
    async def test_server_refusing_connections_then_back(self, api: Api) -> None:
        """PostgreSQL refusing connections (every session killed) leaves the config in force; then it follows again."""
        created = await api.create_room()
        following = ConfigFollower(api.db, interval=0.05)
        await following.start()
        name = make_url(api.db.url).database
        try:
            await wait_until(lambda: following.listening)
            current = following.current
            await admin(api.db, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin(
                api.db,
                f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{name}'",
            )
            await wait_until(lambda: not following.healthy)
            assert following.current is current and not following.listening
            await admin(api.db, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            await wait_until(lambda: following.healthy and following.listening)
            await seen_within(
                following,
                lambda: api.client.patch(api.room_url(created["id"]), json={"queue_all": True}),
                lambda cfg: cfg.rooms[created["id"]].room.queue_all,
            )
        finally:
            await admin(api.db, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            await following.aclose()


class TestNotify:
    @POSTGRES_ONLY
    async def test_notify_beats_the_poll_interval(self, api: Api) -> None:
        """On PostgreSQL a change arrives by NOTIFY in a fraction of the poll interval."""
        created = await api.create_room()
        following = ConfigFollower(api.db, interval=30.0)
        await following.start()
        try:
            await wait_until(lambda: following.listening)
            for wanted in (True, False):

                def write(wanted: bool = wanted) -> Any:
                    return api.client.patch(api.room_url(created["id"]), json={"queue_all": wanted})

                def check(cfg: GatewayConfig, wanted: bool = wanted) -> bool:
                    return cfg.rooms[created["id"]].room.queue_all is wanted

                assert await seen_within(following, write, check) < 0.5
        finally:
            await following.aclose()

    @POSTGRES_ONLY
    async def test_lost_connection_listens_again_without_a_failed_poll(self, api: Api) -> None:
        """A follower whose connection is killed reconnects and LISTENs again at its next poll, staying healthy."""
        created = await api.create_room()
        following = ConfigFollower(api.db)
        await following.start()
        name = make_url(api.db.url).database
        try:
            await wait_until(lambda: following.listening)
            killed = await admin(
                api.db,
                f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()",
            )
            assert killed >= 1
            await asyncio.sleep(DEFAULT_INTERVAL * 2)
            assert following.healthy and following.listening
            took = await seen_within(
                following,
                lambda: api.client.patch(api.room_url(created["id"]), json={"queue_all": True}),
                lambda cfg: cfg.rooms[created["id"]].room.queue_all,
            )
            assert took < DEFAULT_INTERVAL
        finally:
            await following.aclose()

    async def test_sqlite_follower_polls_without_listening(self, api: Api) -> None:
        """Only PostgreSQL has LISTEN; on SQLite the follower polls the revision alone."""
        following = ConfigFollower(api.db)
        await following.start()
        try:
            await following.poll()
            assert following.listening is (not api.db.is_sqlite)
        finally:
            await following.aclose()
