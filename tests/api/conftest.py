"""Fixtures for the API suite: every test runs once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from antechamber.api.app import create_app
from antechamber.db import accounts, tables, tokens
from antechamber.db.engine import Database, sqlite_url
from tests import services
from tests.api.support import BASE, Api, FakeClock, FakeStatusSource


async def _migrate(url: str) -> None:
    database = Database(url)
    await database.migrate()
    await database.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite store, made once; each test gets a copy (migrating costs ~0.4 s)."""
    directory = tmp_path_factory.mktemp("template")
    asyncio.run(_migrate(sqlite_url(directory)))
    return directory / "antechamber.db"


@pytest.fixture(scope="session")
def postgres_store(postgres_admin_url: str) -> Iterator[str]:
    """One migrated PostgreSQL database for the session (creating one per test costs seconds)."""
    with services.fresh_postgres_database(postgres_admin_url) as url:
        asyncio.run(_migrate(url))
        yield url


async def _empty(url: str) -> None:
    # The revision row stays: the migration inserted it and the API only ever updates it.
    names = ", ".join(table.name for table in tables.metadata.sorted_tables if table.name != "config_revision")
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await connection.execute(f"TRUNCATE {names} CASCADE")
    finally:
        await connection.close()


@pytest.fixture
def postgres_clean(postgres_store: str) -> str:
    """The session's PostgreSQL database, emptied for this test (the default account returns on migrate)."""
    asyncio.run(_empty(postgres_store))
    return postgres_store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a migrated, empty store: a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), tmp_path / "antechamber.db")
        return sqlite_url(tmp_path)
    url: str = request.getfixturevalue("postgres_clean")
    return url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated, empty store with its default account."""
    db = Database(database_url)
    async with db.begin() as connection:
        await accounts.ensure_default_account(connection)
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
