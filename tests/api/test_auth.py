"""Bearer tokens: missing or bad tokens get 401, scope and zone limits get 403."""

from __future__ import annotations

import logging

import pytest

from antechamber.db import tokens
from tests.api.support import Api, errors_of

BODY = {"name": "a", "host": "example.com", "new_users_per_minute": 200, "total_active_users": 200}


async def test_missing_token_is_401(api: Api) -> None:
    """No Authorization header: 401 with code 10000."""
    response = await api.client.get(api.rooms_url(), headers={"Authorization": ""})
    assert response.status_code == 401
    assert errors_of(response)[0]["code"] == 10000


@pytest.mark.parametrize("header", ["Bearer wrong", "Basic dXNlcjpwYXNz", "Bearer "])
async def test_invalid_token_is_401(api: Api, header: str) -> None:
    """An unknown token, or another scheme, is a 401."""
    response = await api.client.get(api.rooms_url(), headers={"Authorization": header})
    assert response.status_code == 401


async def test_api_key_headers_are_not_enough(api: Api) -> None:
    """X-Auth-Email/X-Auth-Key (global API key auth) is not supported: 401."""
    response = await api.client.get(
        api.rooms_url(), headers={"Authorization": "", "X-Auth-Email": "a@b.c", "X-Auth-Key": "k"}
    )
    assert response.status_code == 401


async def test_revoked_token_is_401(api: Api) -> None:
    """A revoked token stops working."""
    secret = await api.token("write")
    async with api.db.begin() as connection:
        token = await tokens.token_for_secret(connection, secret)
        assert token is not None
        await tokens.revoke_token(connection, token.id)
    response = await api.client.get(api.rooms_url(), headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401
    assert errors_of(response)[0]["code"] == 9109


async def test_read_token_reads_but_cannot_write(api: Api) -> None:
    """A read token may GET but gets 403 on writes, which change nothing."""
    headers = {"Authorization": f"Bearer {await api.token('read')}"}
    assert (await api.client.get(api.rooms_url(), headers=headers)).status_code == 200
    before = await api.snapshot()
    response = await api.client.post(api.rooms_url(), json=BODY, headers=headers)
    assert response.status_code == 403
    assert errors_of(response)[0]["code"] == 10000
    assert await api.snapshot() == before


async def test_zone_limited_token(api: Api) -> None:
    """A token limited to some zones gets 403 on others, and the account list shows only its zones."""
    other = await api.add_zone("other.org")
    headers = {"Authorization": f"Bearer {await api.token('write', [other])}"}
    await api.create_room()
    assert (await api.client.get(api.rooms_url(), headers=headers)).status_code == 403
    assert (await api.client.get(api.rooms_url(other), headers=headers)).status_code == 200
    listed = await api.client.get(f"/accounts/{'a7ec4a3be4c6a5f0b2d1c0e9f8a7b6c5'}/waiting_rooms", headers=headers)
    assert listed.json()["result"] == []


async def test_tokens_are_stored_hashed(api: Api) -> None:
    """The store keeps the token's SHA-256, never the token."""
    secret = await api.token("write")
    async with api.db.connect() as connection:
        rows = (await connection.exec_driver_sql("SELECT token_sha256 FROM api_tokens")).all()
    stored = {row[0] for row in rows}
    assert tokens.hash_token(secret) in stored
    assert secret not in stored


async def test_token_never_logged(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    """Neither a good nor a bad token appears in any log record."""
    secret = await api.token("write")
    caplog.set_level(logging.DEBUG)
    await api.client.get(api.rooms_url(), headers={"Authorization": f"Bearer {secret}"})
    await api.client.get(api.rooms_url(), headers={"Authorization": "Bearer not-a-real-token"})
    assert secret not in caplog.text
    assert "not-a-real-token" not in caplog.text
