"""schemathesis over /client/v4/openapi.json: no 5xx, and every response matches the document."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from antechamber.api.app import create_app
from antechamber.db import accounts, tokens
from antechamber.db.engine import Database, sqlite_url
from tests import services

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


class Target:
    """The ids that fuzzed requests are pointed at, so they reach past the 404s."""

    zone_id = ""
    room_id = ""
    event_id = ""
    rule_id = ""
    list_id = ""
    item_id = ""
    token = ""


# The document does not depend on the store, so the app is built once at import and
# each test points it at its own fresh store through ``app.state.database``.
APP = create_app(Database("sqlite+aiosqlite:///:memory:"))
schema = schemathesis.openapi.from_asgi("/client/v4/openapi.json", APP)
# The coverage phase sends hundreds of boundary cases per operation; the fuzzing
# phase alone keeps the suite within its time budget on both stores.
schema.config.phases.coverage.enabled = False


async def _prepare(database: Database) -> None:
    """A zone, a token, a room with an event and a rule, and a list with an item for the fuzzer to aim at."""
    await database.migrate()
    async with database.begin() as connection:
        zone = await accounts.create_zone(connection, "example.com")
        Target.token, _ = await tokens.create_token(connection, "write")
    Target.zone_id = zone.id
    transport = httpx.ASGITransport(app=APP)
    headers = {"Authorization": f"Bearer {Target.token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://fuzz/client/v4", headers=headers) as client:
        rooms = f"/zones/{zone.id}/waiting_rooms"
        room = {"name": "seed", "host": "seed.example.com", "new_users_per_minute": 200, "total_active_users": 200}
        Target.room_id = (await client.post(rooms, json=room)).json()["result"]["id"]
        event = {"name": "seed", "event_start_time": "2030-01-01T10:00:00Z", "event_end_time": "2030-01-01T11:00:00Z"}
        Target.event_id = (await client.post(f"{rooms}/{Target.room_id}/events", json=event)).json()["result"]["id"]
        rule = {"action": "bypass_waiting_room", "expression": "ip.src in {192.0.2.0/24}"}
        rules = (await client.post(f"{rooms}/{Target.room_id}/rules", json=rule)).json()["result"]
        Target.rule_id = rules[0]["id"]
        lists = f"/accounts/{accounts.DEFAULT_ACCOUNT_ID}/rules/lists"
        Target.list_id = (await client.post(lists, json={"name": "seed", "kind": "ip"})).json()["result"]["id"]
        await client.post(f"{lists}/{Target.list_id}/items", json=[{"ip": "192.0.2.1"}])
        items = (await client.get(f"{lists}/{Target.list_id}/items")).json()["result"]
        Target.item_id = items[0]["id"]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fuzzed_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One store per backend for the whole module, with a zone and a write token.

    Unpooled, because the test client runs the app on its own event loop.
    """
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = sqlite_url(tmp_path_factory.mktemp("fuzz"))
        else:
            admin_url = request.getfixturevalue("postgres_admin_url")
            url = stack.enter_context(services.fresh_postgres_database(admin_url))
        database = Database(url, pooled=False)
        APP.state.database = database
        asyncio.run(_prepare(database))
        yield
        asyncio.run(database.dispose())


def _aim(case: Any) -> None:
    """Point path ids at the seeded objects, and hosts into the zone, so requests get past 404 and 400."""
    parameters = case.path_parameters or {}
    targets = {
        "zone_id": Target.zone_id,
        "account_id": accounts.DEFAULT_ACCOUNT_ID,
        "event_id": Target.event_id,
        "rule_id": Target.rule_id,
        "item_id": Target.item_id,
    }
    # Deleting the seeded room or list would leave every later operation with nothing to work on.
    if not (case.method == "DELETE" and case.path.endswith("{waiting_room_id}")):
        targets["waiting_room_id"] = Target.room_id
    if not (case.method == "DELETE" and case.path.endswith("{list_id}")):
        targets["list_id"] = Target.list_id
    for name, value in targets.items():
        if name in parameters:
            parameters[name] = value
    if isinstance(case.body, dict) and isinstance(case.body.get("host"), str):
        case.body["host"] = "fuzz.example.com"


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_response_matches_the_document(case: Any, fuzzed_store: None) -> None:
    """Generated requests never get a 5xx, and every answer fits the documented status and schema."""
    _aim(case)
    response = case.call(headers={"Authorization": f"Bearer {Target.token}"})
    if (
        response.status_code == 200
        and case.method == "POST"
        and case.path == "/client/v4/zones/{zone_id}/waiting_rooms"
    ):
        Target.room_id = response.json()["result"]["id"]
    case.validate_response(response, checks=CHECKS)
