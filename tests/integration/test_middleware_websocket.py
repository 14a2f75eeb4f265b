"""WebSockets through the ASGI middleware: the FastAPI app's echo on uvicorn, one worker, memory state.

The app serves a room for one given in code (refusals answer 429), which the module's
first newcomer fills over HTTP: only a session's upgrade reaches the app.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from websockets.exceptions import InvalidStatus

from tests.gateway.test_websocket import open_ws
from tests.integration.app_site import run_room_sites
from tests.integration.contract import Site, room_cookie
from tests.integration.support import HOST

ROOM_FOR_ONE = {"host": HOST, "total_active_users": 1, "new_users_per_minute": 1, "queueing_status_code": 429}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, str]]:
    """The app with its room filled: the site and the admitted newcomer's room cookie value."""
    with run_room_sites(tmp_path_factory.mktemp("websocket"), ("fastapi-uvicorn", ROOM_FOR_ONE)) as [site]:
        cookie = room_cookie(site.visit("/"))
        assert cookie is not None
        yield site, cookie.split("=", 1)[1]


@pytest.fixture
def site(served: tuple[Site, str]) -> Site:
    """The site with nothing recorded yet."""
    served[0].origin.seen.clear()
    return served[0]


async def test_an_admitted_visitors_websocket_reaches_the_app_and_echoes(site: Site, served: tuple[Site, str]) -> None:
    """With an admitted room cookie the upgrade reaches the app; text and bytes cross both ways."""
    async with open_ws(site, "/ws", served[1], host=HOST) as ws:  # type: ignore[arg-type]  # needs only .url
        await ws.send("hello")
        assert "echo:hello" == await ws.recv()
        await ws.send(b"\x00\x01")
        assert b"echo:\x00\x01" == await ws.recv()
    assert ["/ws"] == site.origin.paths


async def test_a_newcomers_websocket_is_refused_with_the_queue_response(site: Site) -> None:
    """Without a room cookie the upgrade is answered with the queue response (429, no-store); the app never sees it."""
    with pytest.raises(InvalidStatus) as refused:
        async with open_ws(site, "/ws", host=HOST):  # type: ignore[arg-type]
            pass
    response = refused.value.response
    assert 429 == response.status_code and "no-store" == response.headers["cache-control"]
    assert [] == site.origin.paths
