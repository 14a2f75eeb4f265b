"""The zone's waiting room settings (``search_engine_crawler_bypass``)."""

from __future__ import annotations

from fastapi import APIRouter

from antechamber.api.auth import AuthorizedZone
from antechamber.api.context import DatabaseDep, write_transaction
from antechamber.api.envelope import ERROR_RESPONSES, Envelope
from antechamber.api.models.zone import ZoneSettings, ZoneSettingsInput, ZoneSettingsPatch
from antechamber.db import accounts

router = APIRouter(tags=["zone settings"], responses=ERROR_RESPONSES)
PATH = "/zones/{zone_id}/waiting_rooms/settings"


@router.get(PATH, response_model=Envelope[ZoneSettings])
async def get_settings(zone: AuthorizedZone) -> Envelope[ZoneSettings]:
    """Read the zone's settings."""
    return Envelope(result=ZoneSettings(search_engine_crawler_bypass=zone.search_engine_crawler_bypass))


async def _store(db: DatabaseDep, zone: AuthorizedZone, enabled: bool) -> Envelope[ZoneSettings]:
    async with write_transaction(db) as connection:
        await accounts.set_crawler_bypass(connection, zone.id, enabled)
    return Envelope(result=ZoneSettings(search_engine_crawler_bypass=enabled))


@router.put(PATH, response_model=Envelope[ZoneSettings])
async def update_settings(zone: AuthorizedZone, body: ZoneSettingsInput, db: DatabaseDep) -> Envelope[ZoneSettings]:
    """Replace the zone's settings (unset fields return to their defaults)."""
    return await _store(db, zone, body.search_engine_crawler_bypass)


@router.patch(PATH, response_model=Envelope[ZoneSettings])
async def edit_settings(zone: AuthorizedZone, body: ZoneSettingsPatch, db: DatabaseDep) -> Envelope[ZoneSettings]:
    """Change the given settings, keeping the rest."""
    enabled = body.search_engine_crawler_bypass
    return await _store(db, zone, zone.search_engine_crawler_bypass if enabled is None else enabled)
