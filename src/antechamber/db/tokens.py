"""API tokens: only their SHA-256 is stored, so a leaked database leaks no token."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from antechamber.db import tables
from antechamber.db.ids import format_timestamp, new_id, utc_now

Scope = Literal["read", "write"]
SCOPES: tuple[Scope, ...] = ("read", "write")


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A stored token's metadata (never the token itself)."""

    id: str
    name: str
    scope: Scope
    zone_ids: tuple[str, ...] | None  # None = every zone
    created_on: str
    revoked_on: str | None

    def allows_zone(self, zone_id: str) -> bool:
        """Whether this token may act on the zone."""
        return self.zone_ids is None or zone_id in self.zone_ids

    def allows_write(self) -> bool:
        """Whether this token may change anything."""
        return self.scope == "write"


def hash_token(token: str) -> str:
    """The stored form of a token: tokens carry 240 random bits, so a plain hash suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(
    connection: AsyncConnection, scope: Scope, zone_ids: list[str] | None = None, name: str = ""
) -> tuple[str, ApiToken]:
    """Mint a token; returns the secret (shown once) and its stored metadata."""
    secret = secrets.token_urlsafe(30)  # 40 characters, like Cloudflare's tokens
    token = ApiToken(
        id=new_id(),
        name=name,
        scope=scope,
        zone_ids=None if zone_ids is None else tuple(zone_ids),
        created_on=format_timestamp(utc_now()),
        revoked_on=None,
    )
    await connection.execute(
        insert(tables.api_tokens).values(
            id=token.id,
            token_sha256=hash_token(secret),
            name=name,
            scope=scope,
            zone_ids=zone_ids,
            created_on=token.created_on,
            revoked_on=None,
        )
    )
    return secret, token


def _token_from_row(row: object) -> ApiToken:
    zone_ids = row.zone_ids  # type: ignore[attr-defined]
    return ApiToken(
        id=row.id,  # type: ignore[attr-defined]
        name=row.name,  # type: ignore[attr-defined]
        scope=row.scope,  # type: ignore[attr-defined]
        zone_ids=None if zone_ids is None else tuple(zone_ids),
        created_on=row.created_on,  # type: ignore[attr-defined]
        revoked_on=row.revoked_on,  # type: ignore[attr-defined]
    )


async def token_for_secret(connection: AsyncConnection, secret: str) -> ApiToken | None:
    """The live (not revoked) token whose secret this is, or ``None``."""
    row = (
        await connection.execute(
            select(tables.api_tokens).where(
                tables.api_tokens.c.token_sha256 == hash_token(secret), tables.api_tokens.c.revoked_on.is_(None)
            )
        )
    ).first()
    return None if row is None else _token_from_row(row)


async def list_tokens(connection: AsyncConnection) -> list[ApiToken]:
    """Every token, revoked ones included, oldest first."""
    rows = await connection.execute(select(tables.api_tokens).order_by(tables.api_tokens.c.created_on))
    return [_token_from_row(row) for row in rows]


async def revoke_token(connection: AsyncConnection, token_id: str) -> bool:
    """Revoke a token by id; returns whether a live token was revoked."""
    result = await connection.execute(
        update(tables.api_tokens)
        .where(tables.api_tokens.c.id == token_id, tables.api_tokens.c.revoked_on.is_(None))
        .values(revoked_on=format_timestamp(utc_now()))
    )
    return bool(result.rowcount)


async def live_token(connection: AsyncConnection, token_id: str) -> ApiToken | None:
    """The token with this id if it is not revoked, or ``None`` (a dashboard session re-checks it on each request)."""
    row = (
        await connection.execute(
            select(tables.api_tokens).where(
                tables.api_tokens.c.id == token_id, tables.api_tokens.c.revoked_on.is_(None)
            )
        )
    ).first()
    return None if row is None else _token_from_row(row)
