"""The dashboard's sign-in sessions and the operator password, in the config store.

A session is known by the SHA-256 of its cookie (the cookie carries 256 random
bits, so a plain hash suffices, as for API tokens): a leaked store opens no
session. The operator password is kept as a scrypt hash (:mod:`hashlib`, memory-hard,
salted), checked in a thread so that the event loop never waits on it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from antechamber.db import tables
from antechamber.db.ids import format_timestamp, utc_now

#: scrypt's cost: 16 MiB and about 150 ms a check on this machine (OWASP's minimum is N=2**17 with r=8 at p=1
#: or the equivalent; N=2**14, r=8, p=5 is its listed equal).
_SCRYPT_N = 2**14
_SCRYPT_R = 8
_SCRYPT_P = 5
_MAXMEM = 64 * 1024 * 1024
MIN_PASSWORD_LENGTH = 12


@dataclass(frozen=True, slots=True)
class DashboardSession:
    """A live sign-in: who (an API token's id, or ``None`` for the operator) and until when."""

    token_id: str | None
    expires_ms: int


def session_key(secret: str) -> str:
    """The stored form of a session cookie."""
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_session(connection: AsyncConnection, token_id: str | None, now_ms: int, lifetime_ms: int) -> str:
    """Open a session; returns the cookie's secret (stored only as its hash)."""
    secret = secrets.token_urlsafe(32)
    await connection.execute(
        insert(tables.dashboard_sessions).values(
            secret_sha256=session_key(secret), token_id=token_id, created_ms=now_ms, expires_ms=now_ms + lifetime_ms
        )
    )
    return secret


async def live_session(connection: AsyncConnection, secret: str, now_ms: int) -> DashboardSession | None:
    """The session this cookie opens, if it has not ended."""
    table = tables.dashboard_sessions
    row = (
        await connection.execute(
            select(table.c.token_id, table.c.expires_ms).where(
                table.c.secret_sha256 == session_key(secret), table.c.expires_ms > now_ms
            )
        )
    ).first()
    return None if row is None else DashboardSession(token_id=row.token_id, expires_ms=int(row.expires_ms))


async def end_session(connection: AsyncConnection, secret: str) -> None:
    """Sign out: the cookie opens nothing from now on."""
    await connection.execute(
        delete(tables.dashboard_sessions).where(tables.dashboard_sessions.c.secret_sha256 == session_key(secret))
    )


async def prune_sessions(connection: AsyncConnection, now_ms: int) -> int:
    """Forget sessions that have ended; returns how many."""
    result = await connection.execute(
        delete(tables.dashboard_sessions).where(tables.dashboard_sessions.c.expires_ms <= now_ms)
    )
    return int(result.rowcount or 0)


async def end_operator_sessions(connection: AsyncConnection) -> None:
    """End every operator sign-in (the password changed or was cleared)."""
    await connection.execute(delete(tables.dashboard_sessions).where(tables.dashboard_sessions.c.token_id.is_(None)))


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64) of a password."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, maxmem=_MAXMEM, dklen=32
    )
    encode = base64.b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${encode(salt).decode()}${encode(digest).decode()}"


def password_matches(password: str, stored: str) -> bool:
    """Whether the password is the one hashed in ``stored`` (constant time in what it compares)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(digest)
        found = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_MAXMEM,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(found, expected)


async def set_operator_password(connection: AsyncConnection, password: str | None) -> None:
    """Set (or, with ``None``, clear) the operator password; ends every operator session."""
    table = tables.dashboard_operator
    await connection.execute(delete(table))
    if password is not None:
        hashed = await asyncio.to_thread(hash_password, password)
        await connection.execute(
            insert(table).values(id=1, password_hash=hashed, changed_on=format_timestamp(utc_now()))
        )
    await end_operator_sessions(connection)


async def operator_password_hash(connection: AsyncConnection) -> str | None:
    """The stored hash, or ``None`` when no operator password is set."""
    found = await connection.scalar(select(tables.dashboard_operator.c.password_hash))
    return None if found is None else str(found)


async def check_operator_password(connection: AsyncConnection, password: str) -> bool:
    """Whether this is the operator password (False when none is set)."""
    stored = await operator_password_hash(connection)
    if stored is None:
        return False
    return await asyncio.to_thread(password_matches, password, stored)
