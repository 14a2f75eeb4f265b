"""Fixtures for the gateway suite: a running origin + gateway over a fresh SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.gateway.harness import Site, running_site


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    """The whole system on loopback, the gateway trusting 127.0.0.1 as a proxy."""
    async with running_site(tmp_path) as running:
        yield running
