"""Stored page previews (templates uploaded for ``/preview/<uuid>``)."""

from __future__ import annotations

import uuid

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from antechamber.db import tables
from antechamber.db.ids import format_timestamp, utc_now


async def create_preview(connection: AsyncConnection, zone_id: str, custom_html: str) -> str:
    """Store a template for preview; returns its UUID."""
    preview_id = str(uuid.uuid4())
    await connection.execute(
        insert(tables.previews).values(
            id=preview_id, zone_id=zone_id, custom_html=custom_html, created_on=format_timestamp(utc_now())
        )
    )
    return preview_id


async def preview_html(connection: AsyncConnection, preview_id: str) -> str | None:
    """The template stored under this UUID, or ``None``."""
    found = await connection.scalar(select(tables.previews.c.custom_html).where(tables.previews.c.id == preview_id))
    return None if found is None else str(found)
