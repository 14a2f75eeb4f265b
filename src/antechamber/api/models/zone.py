"""Bodies of the zone-level calls: settings, status and page preview."""

from __future__ import annotations

from datetime import datetime
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


class StateStoreStatus(BaseModel):
    """Antechamber's own addition: whether the counters' store answers (Redis, with several nodes)."""

    backend: Literal["memory", "redis"]
    healthy: bool
    #: When the store stopped answering (null while healthy).
    failing_since: datetime | None = None
    #: ``hold``: the limits are kept on the last known totals; ``open``: visitors are let through for a while.
    policy: Literal["hold", "open"]
    #: The ``open`` policy is letting visitors through right now.
    open: bool


class RoomStatus(BaseModel):
    """What a room is doing now, with live estimates."""

    status: Literal["event_prequeueing", "not_queueing", "queueing", "suspended"]
    event_id: str
    estimated_queued_users: int
    estimated_total_active_users: int
    max_estimated_time_minutes: int
    #: Not in Cloudflare's schema (its SDK keeps unknown fields): the store behind the estimates.
    state_store: StateStoreStatus | None = None


class PreviewInput(BaseModel):
    """A template to preview."""

    model_config = ConfigDict(extra="ignore")

    custom_html: Template


class PreviewCreated(BaseModel):
    """Where the preview is served."""

    preview_url: str
