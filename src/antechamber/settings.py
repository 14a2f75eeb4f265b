"""Antechamber's settings: environment variables ``ANTECHAMBER_*``, overridden by CLI flags."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from antechamber.db.engine import sqlite_url

DEFAULT_API_BIND = "127.0.0.1:8080"


class Settings(BaseSettings):
    """Where data lives and where the API listens.

    ``ANTECHAMBER_DATA_DIR`` (default ``./data``) holds the SQLite store and
    secrets; ``ANTECHAMBER_DATABASE_URL`` (e.g. ``postgresql+asyncpg://...``)
    replaces the SQLite store.
    """

    model_config = SettingsConfigDict(env_prefix="ANTECHAMBER_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(default=Path("data"))
    database_url: str | None = None
    api: str = DEFAULT_API_BIND
    log_level: str = "info"

    def resolved_database_url(self) -> str:
        """The store's SQLAlchemy URL: the configured one, else SQLite in the data directory."""
        return self.database_url or sqlite_url(self.data_dir)

    def prepare_data_dir(self) -> Path:
        """Create the data directory if needed, readable by its owner only (0700)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        database_file = self.data_dir / "antechamber.db"
        if database_file.exists():
            # The store holds token hashes and configuration: owner only.
            os.chmod(database_file, 0o600)
        return self.data_dir


def parse_bind(bind: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[::1]:8080`` for IPv6); raises ValueError when malformed."""
    host, sep, port = bind.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {bind!r}")
    return host.strip("[]"), int(port)
