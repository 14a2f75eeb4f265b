"""Smoke tests of the ASGI middleware in the other frameworks it claims: Litestar and Quart, each on uvicorn.

Each app is served for real (one worker, memory state) with a room for one given in
code, which the module's first newcomer fills: every later newcomer is queued.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.integration.app_site import SMOKE_APPS, run_room_sites
from tests.integration.contract import ROOM_COOKIE, Site, assert_origin_page, assert_queue_page, room_cookie
from tests.integration.support import HOST

ROOM_FOR_ONE = {"host": HOST, "total_active_users": 1, "new_users_per_minute": 1, "json_response_enabled": True}


@dataclass
class FullRoom:
    """An app whose room for one has let its first newcomer in."""

    site: Site
    #: The first newcomer's answer.
    first: httpx.Response


@pytest.fixture(scope="module")
def full_rooms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, FullRoom]]:
    """Every framework's app served side by side, each room filled by a first newcomer."""
    apps = sorted(SMOKE_APPS)
    with run_room_sites(tmp_path_factory.mktemp("frameworks"), *((app, ROOM_FOR_ONE) for app in apps)) as sites:
        yield {app: FullRoom(site, site.visit("/products?id=7")) for app, site in zip(apps, sites, strict=True)}


@pytest.fixture(params=sorted(SMOKE_APPS))
def room(request: pytest.FixtureRequest, full_rooms: dict[str, FullRoom]) -> FullRoom:
    """One framework's full room, with nothing recorded yet."""
    full = full_rooms[request.param]
    full.site.origin.seen.clear()
    return full


def test_the_first_newcomer_gets_the_apps_answer_and_the_room_cookie(room: FullRoom) -> None:
    """A newcomer to a room with room gets the app's own answer and the room cookie, which lets it in again."""
    assert_origin_page(room.first, "/products?id=7")
    cookie = room_cookie(room.first)
    assert cookie is not None
    [set_cookie] = [v for v in room.first.headers.get_list("set-cookie") if v.startswith(ROOM_COOKIE + "=")]
    assert "httponly" in set_cookie.lower() and "path=/" in set_cookie.lower()
    assert_origin_page(room.site.visit("/cart", cookie=cookie), "/cart")
    assert ["/cart"] == room.site.origin.paths


def test_a_newcomer_to_the_full_room_gets_the_queue_page_and_not_the_app(room: FullRoom) -> None:
    """A newcomer to the full room gets the queue page (200, no-store) and a cookie; the app is not called."""
    response = room.site.visit("/checkout")
    assert_queue_page(response, 200)
    assert room_cookie(response) is not None
    assert [] == room.site.origin.paths


def test_a_queued_client_asking_for_json_gets_the_queue_as_json(room: FullRoom) -> None:
    """With json_response_enabled, a queued client sending Accept: application/json gets the room's JSON, not HTML."""
    headers = {"Host": HOST, "Accept": "application/json"}
    response = httpx.get(room.site.url + "/api/cart", headers=headers, timeout=10)
    assert 200 == response.status_code and response.headers["content-type"].startswith("application/json")
    assert response.json()["cfWaitingRoom"]["inWaitingRoom"] is True
    assert "no-store" in response.headers["cache-control"]
    assert [] == room.site.origin.paths
