"""The dashboard in-process: sign-in, sessions, CSRF, scopes, and forms that change rooms through the API."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from antechamber.api.app import create_app
from antechamber.db import accounts, tokens
from antechamber.db import dashboard as stored
from antechamber.db.engine import Database
from tests.api.support import FakeClock, FakeStatusSource

ROOT = "http://dash.test"
PASSWORD = "correct horse battery staple"


@dataclass
class Dash:
    client: httpx.AsyncClient
    db: Database
    zone_id: str
    write: str
    read: str
    clock: FakeClock


@pytest.fixture
async def dash(database: Database) -> AsyncIterator[Dash]:
    """A dashboard on an in-process API app with a zone, a write token, a read token and an operator password."""
    async with database.begin() as connection:
        zone = await accounts.create_zone(connection, "example.com")
        write, _ = await tokens.create_token(connection, "write", name="ops")
        read, _ = await tokens.create_token(connection, "read", name="viewer")
        await stored.set_operator_password(connection, PASSWORD)
    clock = FakeClock()
    app = create_app(database, FakeStatusSource(), clock=clock, min_users=1)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ROOT) as client:
        yield Dash(client, database, zone.id, write, read, clock)


def _field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found is not None, f"no {name} in the page"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, secret: str) -> httpx.Response:
    form = await client.get("/dashboard/sign-in")
    return await client.post("/dashboard/sign-in", data={"nonce": _field(form.text, "nonce"), "secret": secret})


async def csrf(client: httpx.AsyncClient) -> str:
    return _field((await client.get("/dashboard/rooms")).text, "csrf")


async def make_room(dash: Dash, **overrides: object) -> str:
    body = {"name": "shop", "host": "shop.example.com", "total_active_users": 300, "new_users_per_minute": 200}
    response = await dash.client.post(
        f"{ROOT}/client/v4/zones/{dash.zone_id}/waiting_rooms",
        json={**body, **overrides},
        headers={"Authorization": f"Bearer {dash.write}"},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["result"]["id"])


async def room_body(dash: Dash, room_id: str) -> dict[str, object]:
    response = await dash.client.get(
        f"{ROOT}/client/v4/zones/{dash.zone_id}/waiting_rooms/{room_id}",
        headers={"Authorization": f"Bearer {dash.write}"},
    )
    result: dict[str, object] = response.json()["result"]
    return result


async def test_a_write_token_signs_in_with_a_strict_httponly_cookie(dash: Dash) -> None:
    """A token sign-in sets an HttpOnly, SameSite=Strict session cookie on /dashboard (no Secure on http)."""
    response = await sign_in(dash.client, dash.write)
    assert response.status_code == 303 and response.headers["location"] == "/dashboard/rooms"
    session = next(c for c in response.headers.get_list("set-cookie") if c.startswith("antechamber_dashboard="))
    assert "HttpOnly" in session and "SameSite=Strict" in session and "Path=/dashboard" in session
    assert "Secure" not in session
    page = await dash.client.get("/dashboard/rooms")
    assert page.status_code == 200 and "token ops (write)" in page.text
    assert dash.write not in page.text and dash.write not in session


async def test_over_tls_the_session_cookie_is_secure(database: Database) -> None:
    """Behind TLS the session cookie carries Secure."""
    async with database.begin() as connection:
        await accounts.create_zone(connection, "example.com")
        secret, _ = await tokens.create_token(connection, "write")
    app = create_app(database, FakeStatusSource(), clock=FakeClock())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://dash.test") as client:
        response = await sign_in(client, secret)
    session = next(c for c in response.headers.get_list("set-cookie") if c.startswith("antechamber_dashboard="))
    assert "; Secure" in session


async def test_a_wrong_token_is_refused_and_opens_no_session(dash: Dash) -> None:
    """A wrong secret gets 401, the page says so, and no session cookie is set."""
    response = await sign_in(dash.client, "not-a-token-at-all")
    assert response.status_code == 401 and "not a valid API token" in response.text
    assert not any(c.startswith("antechamber_dashboard=") for c in response.headers.get_list("set-cookie"))
    assert (await dash.client.get("/dashboard/rooms")).headers["location"] == "/dashboard/sign-in"


async def test_failed_sign_ins_are_rate_limited(dash: Dash) -> None:
    """After five failures from one address the sixth try, even with a good token, waits (429, Retry-After)."""
    for _ in range(5):
        assert (await sign_in(dash.client, "wrong")).status_code == 401
    limited = await sign_in(dash.client, dash.write)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert "Too many failed sign-ins" in limited.text


async def test_a_sign_in_without_the_forms_nonce_is_refused(dash: Dash) -> None:
    """A sign-in posted from elsewhere (no nonce matching the form's cookie) is refused."""
    response = await dash.client.post("/dashboard/sign-in", data={"nonce": "forged", "secret": dash.write})
    assert response.status_code == 403


async def test_the_operator_password_signs_in_and_may_act(dash: Dash) -> None:
    """The operator password opens a session that may change rooms."""
    room_id = await make_room(dash)
    assert (await sign_in(dash.client, PASSWORD)).status_code == 303
    token = await csrf(dash.client)
    response = await dash.client.post(
        f"/dashboard/zones/{dash.zone_id}/rooms/{room_id}/emergency",
        data={"csrf": token, "action": "queue_all_on", "confirmed": "yes"},
    )
    assert response.status_code == 303 and "notice=queue_all_on" in response.headers["location"]
    assert (await room_body(dash, room_id))["queue_all"] is True


async def test_a_form_post_without_its_csrf_token_is_refused_and_changes_nothing(dash: Dash) -> None:
    """An emergency post with no or a wrong CSRF token gets 403 and the room stays as it was."""
    room_id = await make_room(dash)
    await sign_in(dash.client, dash.write)
    path = f"/dashboard/zones/{dash.zone_id}/rooms/{room_id}/emergency"
    for data in (
        {"action": "suspend", "confirmed": "yes"},
        {"action": "suspend", "confirmed": "yes", "csrf": "x" * 64},
    ):
        assert (await dash.client.post(path, data=data)).status_code == 403
    assert (await room_body(dash, room_id))["suspended"] is False


async def test_an_emergency_button_asks_for_confirmation_first(dash: Dash) -> None:
    """Without confirmed=yes an emergency action shows a confirmation page and changes nothing; then it is done."""
    room_id = await make_room(dash)
    await sign_in(dash.client, dash.write)
    token = await csrf(dash.client)
    path = f"/dashboard/zones/{dash.zone_id}/rooms/{room_id}/emergency"
    asked = await dash.client.post(path, data={"csrf": token, "action": "suspend"})
    assert asked.status_code == 200 and "Are you sure?" in asked.text
    assert (await room_body(dash, room_id))["suspended"] is False
    done = await dash.client.post(path, data={"csrf": token, "action": "suspend", "confirmed": "yes"})
    assert done.status_code == 303
    assert (await room_body(dash, room_id))["suspended"] is True
    back = await dash.client.post(path, data={"csrf": token, "action": "resume", "confirmed": "yes"})
    assert back.status_code == 303 and (await room_body(dash, room_id))["suspended"] is False


async def test_a_read_token_sees_but_cannot_act(dash: Dash) -> None:
    """A read token's pages show no action buttons, and a post gets the API's read-only refusal."""
    room_id = await make_room(dash)
    await sign_in(dash.client, dash.read)
    page = await dash.client.get(f"/dashboard/zones/{dash.zone_id}/rooms/{room_id}")
    assert page.status_code == 200 and "shop" in page.text and "read only" in page.text
    assert "/emergency" not in page.text and "Edit settings" not in page.text
    token = _field(page.text, "csrf")
    refused = await dash.client.post(
        f"/dashboard/zones/{dash.zone_id}/rooms/{room_id}/emergency",
        data={"csrf": token, "action": "queue_all_on", "confirmed": "yes"},
    )
    assert refused.status_code == 403 and "this token is read-only" in refused.text
    assert (await room_body(dash, room_id))["queue_all"] is False


async def test_creating_a_room_shows_the_apis_own_messages_on_the_form(dash: Dash) -> None:
    """A bad room form is answered with the API's messages beside the fields; a good one creates the room."""
    await sign_in(dash.client, dash.write)
    token = await csrf(dash.client)
    form = {
        "csrf": token,
        "zone_id": dash.zone_id,
        "name": "launch",
        "host": "launch.example.com",
        "path": "/",
        "total_active_users": "lots",
        "new_users_per_minute": "100",
        "session_duration": "40",
        "queueing_method": "fifo",
        "queueing_status_code": "200",
        "default_template_language": "en-US",
        "turnstile_mode": "invisible",
        "turnstile_action": "log",
    }
    refused = await dash.client.post("/dashboard/rooms/new", data=form)
    assert refused.status_code == 400
    assert "Input should be a valid integer" in refused.text
    assert "Input should be less than or equal to 30" in refused.text
    created = await dash.client.post(
        "/dashboard/rooms/new", data={**form, "total_active_users": "500", "session_duration": "10"}
    )
    assert created.status_code == 303
    room_id = created.headers["location"].split("/rooms/")[1].split("?")[0]
    body = await room_body(dash, room_id)
    assert body["total_active_users"] == 500 and body["session_duration"] == 10 and body["queue_all"] is False


async def test_editing_a_room_changes_its_limit(dash: Dash) -> None:
    """The settings form PATCHes the room: a new limit is saved, the other fields kept."""
    room_id = await make_room(dash, description="keep me")
    await sign_in(dash.client, dash.write)
    form_page = await dash.client.get(f"/dashboard/zones/{dash.zone_id}/rooms/{room_id}/edit")
    assert 'value="300"' in form_page.text
    form = {
        "csrf": _field(form_page.text, "csrf"),
        "name": "shop",
        "host": "shop.example.com",
        "path": "/",
        "description": "keep me",
        "total_active_users": "750",
        "new_users_per_minute": "200",
        "session_duration": "5",
        "queueing_method": "fifo",
        "queueing_status_code": "200",
        "default_template_language": "en-US",
        "turnstile_mode": "invisible",
        "turnstile_action": "log",
    }
    assert (
        await dash.client.post(f"/dashboard/zones/{dash.zone_id}/rooms/{room_id}/edit", data=form)
    ).status_code == 303
    body = await room_body(dash, room_id)
    assert body["total_active_users"] == 750 and body["description"] == "keep me"


async def test_events_and_rules_are_made_through_their_forms(dash: Dash) -> None:
    """An event (UTC form times) and a bypass rule are created; a bad expression gets the API's message."""
    room_id = await make_room(dash)
    await sign_in(dash.client, dash.write)
    token = await csrf(dash.client)
    base = f"/dashboard/zones/{dash.zone_id}/rooms/{room_id}"
    event = {
        "csrf": token,
        "name": "drop",
        "event_start_time": "2026-06-02T10:00",
        "event_end_time": "2026-06-02T12:00",
        "total_active_users": "400",
        "new_users_per_minute": "250",
    }
    made = await dash.client.post(base + "/events/new", data=event)
    assert made.status_code == 303, re.findall(r"<li>(.*?)</li>", made.text)
    bad = await dash.client.post(
        base + "/rules/new", data={"csrf": token, "expression": "ip.src eq", "enabled": "true"}
    )
    assert bad.status_code == 400 and "expression" in bad.text
    rule = {"csrf": token, "expression": 'http.request.uri.path eq "/health"', "enabled": "true"}
    assert (await dash.client.post(base + "/rules/new", data=rule)).status_code == 303
    page = await dash.client.get(base)
    assert "drop" in page.text and "2026-06-02T10:00:00.000Z" in page.text and "/health" in page.text


async def test_an_events_rule_between_fields_is_shown_beside_the_field_at_fault(dash: Dash) -> None:
    """The API's "prequeue_start_time must be at least 5 minutes before ..." is shown beside the prequeue field."""
    room_id = await make_room(dash)
    await sign_in(dash.client, dash.write)
    event = {
        "csrf": await csrf(dash.client),
        "name": "drop",
        "prequeue_start_time": "2026-06-02T09:58",
        "event_start_time": "2026-06-02T10:00",
        "event_end_time": "2026-06-02T12:00",
    }
    refused = await dash.client.post(f"/dashboard/zones/{dash.zone_id}/rooms/{room_id}/events/new", data=event)
    assert refused.status_code == 400
    beside = re.search(r'<span class="field-error" id="prequeue_start_time-error">([^<]*)</span>', refused.text)
    assert beside is not None and "at least 5 minutes before event_start_time" in beside.group(1)
    assert 'id="prequeue_start_time" name="prequeue_start_time"' in refused.text
    assert re.search(r'id="prequeue_start_time"[^>]*aria-invalid="true"', refused.text)


async def test_revoking_the_token_ends_its_session(dash: Dash) -> None:
    """A session signed in with a token ends when the token is revoked."""
    await sign_in(dash.client, dash.write)
    assert (await dash.client.get("/dashboard/rooms")).status_code == 200
    async with dash.db.begin() as connection:
        for token in await tokens.list_tokens(connection):
            await tokens.revoke_token(connection, token.id)
    assert (await dash.client.get("/dashboard/rooms")).status_code == 303


async def test_signing_out_ends_the_session(dash: Dash) -> None:
    """After sign-out the old cookie opens nothing, even if replayed."""
    await sign_in(dash.client, dash.write)
    cookie = dash.client.cookies.get("antechamber_dashboard")
    token = await csrf(dash.client)
    assert (await dash.client.post("/dashboard/sign-out", data={"csrf": token})).status_code == 303
    dash.client.cookies.set("antechamber_dashboard", str(cookie), path="/dashboard")
    assert (await dash.client.get("/dashboard/rooms")).status_code == 303


async def test_no_secret_reaches_a_log(dash: Dash, caplog: pytest.LogCaptureFixture) -> None:
    """Neither a token nor the operator password appears in any log record of a sign-in, good or bad."""
    caplog.set_level(logging.DEBUG)
    await sign_in(dash.client, PASSWORD + "x")
    await sign_in(dash.client, dash.write)
    await dash.client.get("/dashboard/rooms")
    for secret in (dash.write, PASSWORD):
        assert [r.getMessage()[:300] for r in caplog.records if secret in r.getMessage()] == []


async def test_the_chart_series_follow_the_analytics(dash: Dash) -> None:
    """series.json gives the last hour as 60 one-minute points, with the analytics' figures where there are some."""
    from antechamber.core.analytics import MinuteFigures
    from antechamber.db import analytics

    room_id = await make_room(dash)
    minute = int(dash.clock().timestamp()) // 60 - 5
    figures = MinuteFigures(admitted=42, active_max=120, active_limit=300, queued_max=17, new_users_limit=200)
    async with dash.db.begin() as connection:
        await analytics.save(connection, "node-a", [(room_id, minute, figures)])
    await sign_in(dash.client, dash.read)
    series = (await dash.client.get(f"/dashboard/zones/{dash.zone_id}/rooms/{room_id}/series.json")).json()
    assert len(series["t"]) == 60 and series["bin_minutes"] == 1
    index = series["t"].index(minute * 60)
    assert series["new_users"][index] == 42 and series["queued_users_max"][index] == 17
    assert series["active_users_limit"][index] == 300
    assert sum(v is not None for v in series["new_users"]) == 1


async def test_the_live_summary_refreshes_from_the_analytics(dash: Dash) -> None:
    """The room page's totals for the last hour come back from the summary fragment as new minutes are stored."""
    from antechamber.core.analytics import MinuteFigures
    from antechamber.db import analytics

    room_id = await make_room(dash)
    await sign_in(dash.client, dash.read)
    base = f"/dashboard/zones/{dash.zone_id}/rooms/{room_id}"
    page = await dash.client.get(base)
    assert f'hx-get="{base}/summary?range=1h" hx-trigger="every 5s"' in page.text
    assert "<dt>Let in</dt><dd>0</dd>" in page.text
    minute = int(dash.clock().timestamp()) // 60 - 2
    figures = MinuteFigures(admitted=42, active_max=120, active_limit=300, queued_max=17, new_users_limit=200)
    async with dash.db.begin() as connection:
        await analytics.save(connection, "node-a", [(room_id, minute, figures)])
    fragment = (await dash.client.get(base + "/summary?range=1h")).text
    assert "<dt>Let in</dt><dd>42</dd>" in fragment and "<dt>Peak queue</dt><dd>17</dd>" in fragment
    older = (await dash.client.get(base + "?range=7d")).text
    assert "<dt>Let in</dt><dd>42</dd>" in older and '<div id="summary" aria-live="polite">' in older
    assert "No figures" in (await dash.client.get(base + "/summary?range=custom&since=x&until=y")).text


async def test_pages_forbid_framing_and_foreign_scripts(dash: Dash) -> None:
    """Dashboard pages send a CSP allowing only their own scripts, no framing, and no-store."""
    page = await dash.client.get("/dashboard/sign-in")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    assert (await dash.client.get("/dashboard/static/vendor/htmx-2.0.11.min.js")).status_code == 200


async def test_the_room_form_offers_every_choice_the_api_accepts(dash: Dash) -> None:
    """The room form's selects list every language, queueing method and challenge mode of the API's models."""
    from typing import get_args

    from antechamber.api.models.fields import QueueingMethod, TemplateLanguage, TurnstileAction, TurnstileMode

    await sign_in(dash.client, dash.write)
    form = (await dash.client.get("/dashboard/rooms/new")).text
    for choices in (TemplateLanguage, QueueingMethod, TurnstileMode, TurnstileAction):
        for choice in get_args(choices):
            assert f'<option value="{choice}"' in form, choice
