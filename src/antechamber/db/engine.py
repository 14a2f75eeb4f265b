"""Opening the config store and bringing its schema up to date."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from antechamber.db import accounts

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def sqlite_url(data_dir: Path) -> str:
    """The default store: a SQLite file in the data directory."""
    return f"sqlite+aiosqlite:///{data_dir.resolve() / 'antechamber.db'}"


#: Plain scheme -> the async driver Antechamber uses for it.
_ASYNC_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


def async_url(url: str) -> str:
    """Give a plain ``postgresql://`` or ``sqlite://`` URL its async driver; others pass unchanged."""
    scheme, sep, rest = url.partition("://")
    return f"{_ASYNC_DRIVERS[scheme]}://{rest}" if sep and scheme in _ASYNC_DRIVERS else url


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # SQLite ignores ON DELETE CASCADE unless each connection asks for it.
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets gateway processes read the config while the API writes; with WAL,
    # synchronous=NORMAL is still crash-safe and saves an fsync per commit.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(_alembic_config(connection), "head")


class Database:
    """An async engine on the config store, plus schema migration.

    SQLite connections are not pooled: they are cheap to open, and an unpooled
    engine can be used from more than one event loop (tests, the CLI). Pass
    ``pooled=False`` to get the same for PostgreSQL.
    """

    def __init__(self, url: str, *, pooled: bool | None = None) -> None:
        url = async_url(url)
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if pooled is None:
            pooled = not self.is_sqlite
        if pooled:
            self.engine: AsyncEngine = create_async_engine(url, pool_pre_ping=True)
        else:
            self.engine = create_async_engine(url, poolclass=NullPool)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _configure_sqlite)

    async def migrate(self) -> None:
        """Apply every pending migration and make sure the default account exists."""
        async with self.engine.begin() as connection:
            await connection.run_sync(_upgrade)
        async with self.engine.begin() as connection:
            await accounts.ensure_default_account(connection)

    def begin(self) -> Any:
        """A transaction: ``async with database.begin() as connection: ...``."""
        return self.engine.begin()

    def connect(self) -> Any:
        """A connection without an explicit transaction, for reads."""
        return self.engine.connect()

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


__all__ = ["AsyncConnection", "Database", "sqlite_url"]
