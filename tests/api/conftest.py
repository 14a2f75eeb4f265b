"""Fixtures for the API suite: every test runs once on SQLite and once on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from antechamber.api.app import create_app
from antechamber.db import accounts, tokens
from antechamber.db.engine import Database, sqlite_url
from tests.api.support import BASE, Api, FakeClock, FakeStatusSource


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store's URL: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated, empty store."""
    db = Database(database_url)
    await db.migrate()
    yield db
    await db.dispose()


@pytest.fixture
async def api(database: Database) -> AsyncIterator[Api]:
    """A client on an in-process app, authenticated with a write token for ``example.com``."""
    clock = FakeClock()
    status = FakeStatusSource()
    async with database.begin() as connection:
        zone = await accounts.create_zone(connection, "example.com")
        secret, _ = await tokens.create_token(connection, "write")
    app = create_app(database, status, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE, headers={"Authorization": f"Bearer {secret}"}
    ) as client:
        yield Api(client=client, db=database, clock=clock, status=status, zone_id=zone.id)
