"""Fixtures for the upstream client tests: a pool that is always closed afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from antechamber.gateway.upstream import Limits, Timeouts, UpstreamPool


@pytest.fixture
async def pool() -> AsyncIterator[UpstreamPool]:
    """A pool with short timeouts so a broken test fails fast instead of hanging."""
    p = UpstreamPool(timeouts=Timeouts(pool=5, connect=5, read=5, idle=5), limits=Limits())
    yield p
    await p.aclose()
