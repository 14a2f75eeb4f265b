"""Bodies of the zone-level calls: settings, status and page preview."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictBool

from antechamber.api.models.fields import Template


class ZoneSettingsInput(BaseModel):
    """PUT body of the zone's waiting room settings (unset = default)."""

    model_config = ConfigDict(extra="ignore")

    search_engine_crawler_bypass: StrictBool = False


class ZoneSettingsPatch(BaseModel):
    """PATCH body of the zone's waiting room settings (unset = unchanged)."""

    model_config = ConfigDict(extra="ignore")

    search_engine_crawler_bypass: StrictBool | None = None


class ZoneSettings(BaseModel):
    """The zone's waiting room settings."""

    search_engine_crawler_bypass: bool


class RoomStatus(BaseModel):
    """What a room is doing now, with live estimates."""

    status: Literal["event_prequeueing", "not_queueing", "queueing", "suspended"]
    event_id: str
    estimated_queued_users: int
    estimated_total_active_users: int
    max_estimated_time_minutes: int


class PreviewInput(BaseModel):
    """A template to preview."""

    model_config = ConfigDict(extra="ignore")

    custom_html: Template


class PreviewCreated(BaseModel):
    """Where the preview is served."""

    preview_url: str
