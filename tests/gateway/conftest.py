"""Fixtures for the gateway suite: a running origin + gateway over a fresh SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.gateway.harness import Site, running_site


# One suite over both front ends, after uvicorn's http_protocol_cls fixture: the ASGI app
# under uvicorn and the raw HTTP/1.1 server must behave alike.
@pytest.fixture(params=["uvicorn", "raw"])
def gateway_server(request: pytest.FixtureRequest) -> str:
    """The gateway's front end under test."""
    return str(request.param)


@pytest.fixture
async def site(tmp_path: Path, gateway_server: str) -> AsyncIterator[Site]:
    """The whole system on loopback, the gateway trusting 127.0.0.1 as a proxy."""
    async with running_site(tmp_path, server=gateway_server) as running:
        yield running
