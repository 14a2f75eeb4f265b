"""Bypass rules in the gateway's own request paths: sessions, renewal, forward auth."""

from __future__ import annotations

from pathlib import Path

import httpx

from antechamber.db import rules
from antechamber.db.ids import new_id
from tests.gateway.harness import HOST, Site, running_site


async def add_rules(site: Site, room_id: str, *expressions: str) -> None:
    """Store a room's rules, as the API would, and reload the gateway."""
    stored = [
        {"id": new_id(), "action": "bypass_waiting_room", "expression": text, "description": "", "enabled": True,
         "version": "1", "last_updated": site.clock.iso()}
        for text in expressions
    ]  # fmt: skip
    async with site.db.begin() as connection:
        await rules.replace_rules(connection, room_id, stored)
    await site.follower.refresh()


async def test_a_bypassed_request_does_not_renew_a_session(tmp_path: Path) -> None:
    """An admitted visitor's asset request matching a rule leaves the session as it was; a page renews it."""
    async with running_site(tmp_path) as site:
        room_id = await site.add_room(total_active_users=5, new_users_per_minute=60, session_duration=5)
        await add_rules(site, room_id, 'starts_with(http.request.uri.path, "/static/")')
        async with site.visitor() as client:
            first = await client.get("/")
            assert first.status_code == 200 and "set-cookie" in first.headers
            site.clock.advance(120)  # far enough that the next counted request renews the session
            asset = await client.get("/static/app.js")
            assert asset.status_code == 200 and "set-cookie" not in asset.headers
            page = await client.get("/account")
            assert page.status_code == 200 and "set-cookie" in page.headers


async def test_rules_see_the_original_request_in_forward_auth(tmp_path: Path) -> None:
    """In forward-auth mode the rules read the described request: its method, URI and client."""
    async with running_site(tmp_path) as site:
        room_id = await site.add_room(total_active_users=1, new_users_per_minute=60, queue_all=True)
        await add_rules(site, room_id, 'http.request.method eq "PURGE" and ip.src in {192.0.2.0/24}')
        async with httpx.AsyncClient(base_url=site.url) as client:

            async def auth(method: str, client_ip: str) -> httpx.Response:
                return await client.get(
                    "/.antechamber/auth",
                    headers={"x-forwarded-host": HOST, "x-forwarded-uri": "/cache/x?y=1", "x-forwarded-method": method,
                             "x-forwarded-for": client_ip},
                )  # fmt: skip

            bypassed = await auth("PURGE", "192.0.2.7")
            assert (bypassed.status_code, bypassed.text.strip()) == (200, "bypass")
            assert "set-cookie" not in bypassed.headers
            assert (await auth("GET", "192.0.2.7")).status_code == 429
            assert (await auth("PURGE", "198.51.100.7")).status_code == 429
