"""The embedded default (one node, SQLite, in-process state) keeps its active users and its line across a restart."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import cloudflare
import httpx
import pytest

from tests.integration.deployment import COOKIE, GREETING, HOST, Node, cli
from tests.services import free_port, http_origin

LIMIT = 5


@pytest.fixture
def origin() -> Iterator[str]:
    with http_origin() as url:
        yield url


def visit(node: Node, cookie: str | None = None) -> tuple[bool, str | None]:
    """One request; whether it reached the origin, and the room cookie (the one sent when none came back)."""
    headers = {"host": HOST}
    if cookie:
        headers["cookie"] = f"{COOKIE}={cookie}"
    response = httpx.get(f"http://127.0.0.1:{node.gateway_port}/", headers=headers, timeout=10)
    assert response.status_code == 200
    for value in response.headers.get_list("set-cookie"):
        name, _, rest = value.partition("=")
        if name == COOKIE:
            cookie = rest.split(";", 1)[0]
    return response.text == GREETING, cookie


@pytest.mark.slow
def test_a_restarted_memory_node_keeps_its_sessions_and_line(tmp_path: Path, origin: str) -> None:
    """After SIGTERM and a restart, the room still counts its active users (a newcomer waits) and its queue."""
    data = ["--data-dir", str(tmp_path / "data")]
    zone_id = json.loads(cli("zones", "create", "example.com", *data, "--json"))["id"]
    token = json.loads(cli("tokens", "create", "--scope", "write", *data, "--json"))["token"]
    api_port, gateway_port = free_port(), free_port()
    args = [*data, "--api", f"127.0.0.1:{api_port}", "--gateway", f"127.0.0.1:{gateway_port}", "--origin", origin]
    node = Node("single", [*args, "--min-user-limit", "1"], gateway_port, api_port, tmp_path / "node.log")
    node.start()
    try:
        sdk = cloudflare.Cloudflare(api_token=token, base_url=f"http://127.0.0.1:{api_port}/client/v4", max_retries=0)
        room = sdk.waiting_rooms.create(
            zone_id=zone_id, host=HOST, name="sale", new_users_per_minute=LIMIT, total_active_users=LIMIT
        )
        assert room is not None and room.id is not None
        time.sleep(2.5)  # the gateway follows the store within 2 s
        results = [visit(node) for _ in range(3 * LIMIT)]
        admitted = [cookie for passed, cookie in results if passed]
        queued = [cookie for passed, cookie in results if not passed]
        assert admitted and len(queued) >= 2 * LIMIT  # the paced budget lets a few in at once

        def status() -> tuple[int, int]:
            found = sdk.waiting_rooms.statuses.get(room.id, zone_id=zone_id)
            assert found is not None
            return found.estimated_total_active_users or 0, found.estimated_queued_users or 0

        before = status()
        assert before == (len(admitted), len(queued))
        assert node.stop() == 0
        assert (tmp_path / "data" / "room-state.bin").stat().st_mode & 0o777 == 0o600
        node.start()
        assert status() == before
        # The budget is still spent: a newcomer waits, and the admitted visitors browse on.
        assert visit(node)[0] is False
        assert all(visit(node, cookie)[0] for cookie in admitted)
    finally:
        node.stop()
    assert "Traceback" not in node.output()
