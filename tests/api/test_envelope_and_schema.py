"""The envelope on every failure, the OpenAPI document, log redaction, and migrations matching the tables."""

from __future__ import annotations

import logging
from typing import Any

import httpx
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi import APIRouter

from antechamber.api.app import create_app
from antechamber.db import tables
from antechamber.db.engine import Database, async_url
from antechamber.db.revision import current_revision
from antechamber.logging import RedactTokens
from tests.api.support import BASE, Api, errors_of


async def test_unknown_path_is_404_in_envelope(api: Api) -> None:
    """A path the API does not have gives 404 with code 7000, in the envelope."""
    response = await api.client.get("/zones/nothing/here/at/all")
    assert response.status_code == 404
    assert errors_of(response)[0]["code"] == 7000


async def test_wrong_method_is_405_in_envelope(api: Api) -> None:
    """A method the path does not take gives 405 with code 7001, in the envelope."""
    response = await api.client.delete(f"/zones/{api.zone_id}/waiting_rooms")
    assert response.status_code == 405
    assert errors_of(response)[0]["code"] == 7001


async def test_unexpected_errors_are_500_without_details(database: Database) -> None:
    """A bug answers 500 with code 10002 and no internals."""
    app = create_app(database)
    router = APIRouter()

    @router.get("/client/v4/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    app.include_router(router)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        response = await client.get("http://api.test/client/v4/boom")
    assert response.status_code == 500
    assert errors_of(response) == [{"code": 10002, "message": "Internal error"}]


async def test_openapi_document(api: Api) -> None:
    """The document is public, describes Bearer auth and the envelope, and has no 422 responses."""
    response = await api.client.get("/openapi.json", headers={"Authorization": ""})
    document: dict[str, Any] = response.json()
    assert response.status_code == 200
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    operations = [op for item in document["paths"].values() for op in item.values()]
    assert len(operations) == 37  # Cloudflare's 35, and the two analytics reads
    assert all("422" not in op["responses"] and "400" in op["responses"] for op in operations)
    assert "/client/v4/zones/{zone_id}/waiting_rooms/{waiting_room_id}/events/{event_id}/details" in document["paths"]


def test_bearer_tokens_are_redacted_from_logs() -> None:
    """The log filter replaces anything after 'Bearer' with [redacted]."""
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "header was %s", ("Bearer abc.DEF-123",), None)
    RedactTokens().filter(record)
    assert record.getMessage() == "header was Bearer [redacted]"


async def test_migrations_match_the_tables(database: Database) -> None:
    """Running every migration yields exactly the schema tables.py declares."""

    def differences(connection: Any) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(connection), tables.metadata))

    async with database.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_config_revision_counts_writes_only(api: Api) -> None:
    """Every accepted write bumps the config revision; reads and rejected writes do not."""

    async def revision() -> int:
        async with api.db.connect() as connection:
            return await current_revision(connection)

    start = await revision()
    created = await api.create_room()
    await api.client.get(api.room_url(created["id"]))
    await api.client.post(api.rooms_url(), json={"name": "bad"})
    assert await revision() == start + 1
    await api.client.patch(api.room_url(created["id"]), json={"queue_all": True})
    assert await revision() == start + 2


def test_plain_database_urls_get_async_drivers() -> None:
    """postgresql:// and sqlite:// URLs are given the async drivers; explicit drivers are kept."""
    assert async_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert async_url("postgres://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert async_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    assert async_url("postgresql+asyncpg://u@h/db") == "postgresql+asyncpg://u@h/db"
