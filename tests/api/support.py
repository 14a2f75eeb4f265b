"""Helpers for the API suite: a client wrapper, a fake clock and status source, assertions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from antechamber.api.status import LiveNumbers
from antechamber.db import accounts, tables, tokens
from antechamber.db.engine import Database

BASE = "http://api.test/client/v4"
#: The fixed moment tests start at; events are scheduled relative to it.
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class FakeStatusSource:
    """Live numbers chosen by the test."""

    numbers: dict[str, LiveNumbers] = field(default_factory=dict)

    async def live_numbers(self, room_id: str) -> LiveNumbers:
        return self.numbers.get(room_id, LiveNumbers(0, 0, 0))


@dataclass
class Api:
    """An API client with a zone and a write token, plus helpers to build and inspect state."""

    client: httpx.AsyncClient
    db: Database
    clock: FakeClock
    status: FakeStatusSource
    zone_id: str
    zone_name: str = "example.com"

    def rooms_url(self, zone_id: str | None = None) -> str:
        return f"/zones/{zone_id or self.zone_id}/waiting_rooms"

    def room_url(self, room_id: str, suffix: str = "") -> str:
        return f"{self.rooms_url()}/{room_id}{suffix}"

    async def create_room(self, **fields: Any) -> dict[str, Any]:
        """Create a room (valid defaults, overridden by ``fields``) and return its result."""
        body = {"name": "shop", "host": "shop.example.com", "new_users_per_minute": 200, "total_active_users": 300}
        body.update(fields)
        response = await self.client.post(self.rooms_url(), json=body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["result"]
        return result

    async def create_event(self, room_id: str, **fields: Any) -> dict[str, Any]:
        """Create an event (an hour starting a day after T0, unless overridden)."""
        body = {
            "name": "launch",
            "event_start_time": iso(T0 + timedelta(days=1)),
            "event_end_time": iso(T0 + timedelta(days=1, hours=1)),
        }
        body.update(fields)
        response = await self.client.post(self.room_url(room_id, "/events"), json=body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["result"]
        return result

    async def token(self, scope: tokens.Scope = "write", zone_ids: list[str] | None = None) -> str:
        """Mint another token."""
        async with self.db.begin() as connection:
            secret, _ = await tokens.create_token(connection, scope, zone_ids)
        return secret

    async def add_zone(self, name: str) -> str:
        """Register another zone; returns its id."""
        async with self.db.begin() as connection:
            return (await accounts.create_zone(connection, name)).id

    async def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table (tokens aside), to prove a rejected request changed nothing."""
        found: dict[str, list[tuple[Any, ...]]] = {}
        async with self.db.connect() as connection:
            for table in tables.metadata.sorted_tables:
                if table.name == "api_tokens":
                    continue
                rows = await connection.execute(select(table))
                found[table.name] = sorted((tuple(repr(value) for value in row) for row in rows), key=repr)
        return found


def iso(moment: datetime) -> str:
    """A moment as the API writes it."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def errors_of(response: httpx.Response) -> list[dict[str, Any]]:
    """The envelope's errors, after checking it is a failure envelope."""
    body = response.json()
    assert body["success"] is False
    assert body["result"] is None
    assert body["messages"] == []
    assert body["errors"], body
    errors: list[dict[str, Any]] = body["errors"]
    return errors


async def assert_rejected(api: Api, method: str, url: str, body: Any, status: int, code: int, words: str) -> None:
    """Send a request that must fail with ``status``/``code`` (message containing ``words``) and change nothing."""
    before = await api.snapshot()
    response = await api.client.request(method, url, json=body)
    assert response.status_code == status, response.text
    errors = errors_of(response)
    assert code in [error["code"] for error in errors], errors
    assert any(words in error["message"] for error in errors), errors
    assert await api.snapshot() == before
