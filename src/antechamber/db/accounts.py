"""Accounts and zones: the containers Cloudflare's paths name."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from antechamber.db import tables
from antechamber.db.ids import format_timestamp, new_id, utc_now

#: The single account every zone belongs to; fixed so that it is the same on every node.
DEFAULT_ACCOUNT_ID = "a7ec4a3be4c6a5f0b2d1c0e9f8a7b6c5"

# A DNS name: labels of letters, digits and inner hyphens, at least two labels.
_ZONE_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


class ZoneError(ValueError):
    """A zone cannot be created as asked."""


@dataclass(frozen=True, slots=True)
class Zone:
    """A registered domain."""

    id: str
    account_id: str
    name: str
    search_engine_crawler_bypass: bool


async def ensure_default_account(connection: AsyncConnection) -> None:
    """Create the default account the first time the store is opened."""
    found = await connection.scalar(select(tables.accounts.c.id).where(tables.accounts.c.id == DEFAULT_ACCOUNT_ID))
    if found is None:
        await connection.execute(
            insert(tables.accounts).values(
                id=DEFAULT_ACCOUNT_ID, name="default", created_on=format_timestamp(utc_now())
            )
        )


async def account_exists(connection: AsyncConnection, account_id: str) -> bool:
    """Whether an account with this id exists."""
    found = await connection.scalar(select(tables.accounts.c.id).where(tables.accounts.c.id == account_id))
    return found is not None


def normalize_zone_name(name: str) -> str:
    """Lower-case a domain and check that it is one; raises :class:`ZoneError`."""
    normalized = name.strip().rstrip(".").lower()
    if not _ZONE_NAME.fullmatch(normalized):
        raise ZoneError(f"{name!r} is not a domain name (e.g. example.com)")
    return normalized


async def create_zone(connection: AsyncConnection, name: str, account_id: str = DEFAULT_ACCOUNT_ID) -> Zone:
    """Register a domain as a zone; raises :class:`ZoneError` for a bad or taken name."""
    normalized = normalize_zone_name(name)
    if await zone_by_name(connection, normalized) is not None:
        raise ZoneError(f"zone {normalized!r} already exists")
    zone = Zone(id=new_id(), account_id=account_id, name=normalized, search_engine_crawler_bypass=False)
    await connection.execute(
        insert(tables.zones).values(
            id=zone.id,
            account_id=account_id,
            name=zone.name,
            search_engine_crawler_bypass=False,
            created_on=format_timestamp(utc_now()),
        )
    )
    return zone


def _zone_from_row(row: object) -> Zone:
    return Zone(
        id=row.id,  # type: ignore[attr-defined]
        account_id=row.account_id,  # type: ignore[attr-defined]
        name=row.name,  # type: ignore[attr-defined]
        search_engine_crawler_bypass=bool(row.search_engine_crawler_bypass),  # type: ignore[attr-defined]
    )


async def zone_by_id(connection: AsyncConnection, zone_id: str) -> Zone | None:
    """The zone with this id, or ``None``."""
    row = (await connection.execute(select(tables.zones).where(tables.zones.c.id == zone_id))).first()
    return None if row is None else _zone_from_row(row)


async def zone_by_name(connection: AsyncConnection, name: str) -> Zone | None:
    """The zone for this domain, or ``None``."""
    row = (await connection.execute(select(tables.zones).where(tables.zones.c.name == name))).first()
    return None if row is None else _zone_from_row(row)


async def list_zones(connection: AsyncConnection) -> list[Zone]:
    """Every zone, oldest first."""
    rows = await connection.execute(select(tables.zones).order_by(tables.zones.c.created_on, tables.zones.c.id))
    return [_zone_from_row(row) for row in rows]


async def set_crawler_bypass(connection: AsyncConnection, zone_id: str, enabled: bool) -> None:
    """Store the zone's ``search_engine_crawler_bypass`` setting."""
    await connection.execute(
        update(tables.zones).where(tables.zones.c.id == zone_id).values(search_engine_crawler_bypass=enabled)
    )
