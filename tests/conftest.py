"""Fixtures shared by the whole suite; service discovery lives in ``tests/services.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import services


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A PostgreSQL server URL on which tests may create and drop databases."""
    with services.postgres_admin_url() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """An empty PostgreSQL database of its own for one test (SQLAlchemy asyncpg URL)."""
    with services.fresh_postgres_database(postgres_admin_url) as url:
        yield url


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """A Redis server for the session; tests keep apart by key prefix."""
    with services.redis_url() as url:
        yield url
