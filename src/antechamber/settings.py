"""Antechamber's settings: environment variables ``ANTECHAMBER_*``, overridden by CLI flags."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from antechamber.api.models.fields import MIN_USERS
from antechamber.db.engine import sqlite_url
from antechamber.gateway.request import DEFAULT_TRUSTED

DEFAULT_API_BIND = "127.0.0.1:8080"
DEFAULT_GATEWAY_BIND = "127.0.0.1:8000"
#: ``--api off`` / ``--gateway off``: this node runs without that part.
OFF = "off"


class Settings(BaseSettings):
    """Where data lives and where the API listens.

    ``ANTECHAMBER_DATA_DIR`` (default ``./data``) holds the SQLite store and
    secrets; ``ANTECHAMBER_DATABASE_URL`` (e.g. ``postgresql+asyncpg://...``)
    replaces the SQLite store.

    The gateway listens on ``ANTECHAMBER_GATEWAY`` and forwards to
    ``ANTECHAMBER_ORIGIN``, or to the origin ``ANTECHAMBER_ORIGIN_FOR`` (JSON
    ``{"host": "url"}``) names for the visitor's host. ``ANTECHAMBER_TRUSTED_PROXIES``
    (JSON list of IPs/CIDRs) are believed in ``X-Forwarded-*``.
    ``ANTECHAMBER_MIN_USER_LIMIT`` lowers Cloudflare's 200-user minimum for small sites.

    ``ANTECHAMBER_STATE`` is where room counters live: ``memory`` (this process, saved
    to the data directory across restarts) or a Redis URL shared by every node;
    ``ANTECHAMBER_WORKERS`` gateway processes share one port (Redis only).
    """

    model_config = SettingsConfigDict(env_prefix="ANTECHAMBER_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(default=Path("data"))
    database_url: str | None = None
    api: str = DEFAULT_API_BIND
    log_level: str = "info"
    gateway: str = DEFAULT_GATEWAY_BIND
    origin: str | None = None
    origin_for: dict[str, str] = Field(default_factory=dict)
    trusted_proxies: list[str] = Field(default_factory=lambda: list(DEFAULT_TRUSTED))
    min_user_limit: int = Field(default=MIN_USERS, ge=1, le=MIN_USERS)
    #: ``uvicorn`` (ASGI), or ``raw``: the gateway's own HTTP/1.1 front end, cheaper per request.
    gateway_server: Literal["uvicorn", "raw"] = "uvicorn"
    #: ``memory``, or ``redis://``, ``rediss://``, ``unix://``, ``redis+cluster://`` URL.
    state: str = "memory"
    #: Key prefix in Redis, so several deployments can share one server.
    state_prefix: str = "antechamber"
    #: While Redis does not answer: ``hold`` the limits, or ``open`` the rooms for ``state_open_seconds``.
    state_failure: Literal["hold", "open"] = "hold"
    state_open_seconds: float = Field(default=60.0, ge=0, le=3600)
    workers: int = Field(default=1, ge=1, le=256)
    #: Where the gateway serves Prometheus metrics, ``HOST:PORT`` (None: only on the API's port).
    metrics: str | None = None
    #: Days of per-minute analytics kept in the config store.
    analytics_days: int = Field(default=30, ge=1, le=3660)
    #: MaxMind-format databases (City/Country and ASN) for the geo fields of bypass rules.
    geoip: list[Path] = Field(default_factory=list)
    #: The DNS server that verifies crawlers, ``HOST[:PORT]`` (default: the system's resolver).
    crawler_dns: str | None = None
    #: The time limit of one crawler's forward-confirmed reverse DNS check, in seconds.
    crawler_dns_timeout: float = Field(default=1.0, gt=0, le=10)
    #: Cloudflare Turnstile instead of the self-hosted ALTCHA challenge: the site key, and a file holding the secret.
    turnstile_site_key: str | None = None
    turnstile_secret_file: Path | None = None
    #: Where Turnstile answers are checked (Cloudflare's siteverify; replaceable for a test stand-in).
    turnstile_siteverify_url: str = "https://challenges.cloudflare.com/turnstile/v0/siteverify"
    turnstile_timeout: float = Field(default=5.0, gt=0, le=30)

    @property
    def api_enabled(self) -> bool:
        return self.api != OFF

    @property
    def gateway_enabled(self) -> bool:
        return self.gateway != OFF

    def resolved_database_url(self) -> str:
        """The store's SQLAlchemy URL: the configured one, else SQLite in the data directory."""
        return self.database_url or sqlite_url(self.data_dir)

    def prepare_data_dir(self) -> Path:
        """Create the data directory if needed, readable by its owner only (0700)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        # The store (and its WAL and shared-memory files) holds token hashes and configuration.
        for database_file in self.data_dir.glob("antechamber.db*"):
            # Another process on the same store may remove its WAL file meanwhile.
            with contextlib.suppress(FileNotFoundError):
                os.chmod(database_file, 0o600)
        return self.data_dir


def parse_bind(bind: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[::1]:8080`` for IPv6); raises ValueError when malformed."""
    host, sep, port = bind.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {bind!r}")
    return host.strip("[]"), int(port)
