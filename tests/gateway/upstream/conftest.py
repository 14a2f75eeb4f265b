"""Fixtures for the upstream client tests: a pool that is always closed afterwards."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from antechamber.gateway.upstream import Limits, Timeouts, UpstreamPool


@pytest.fixture
async def pool() -> AsyncIterator[UpstreamPool]:
    """A pool with short timeouts so a broken test fails fast instead of hanging."""
    p = UpstreamPool(timeouts=Timeouts(pool=5, connect=5, read=5, idle=5), limits=Limits())
    yield p
    await p.aclose()


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every test runs on both loops: production runs uvloop, whose transports differ in the details."""
    factories: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": asyncio.new_event_loop}
    try:
        import uvloop
    except ImportError:  # not on Windows; the asyncio run still covers the logic
        return factories
    factories["uvloop"] = uvloop.new_event_loop
    return factories
