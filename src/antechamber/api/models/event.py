"""Scheduled event bodies. ``null`` in an override field means "use the room's current value"."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from antechamber.api.models.fields import (
    EventTime,
    Name,
    QueueingMethod,
    SessionDuration,
    Template,
    TurnstileAction,
    TurnstileMode,
    UserLimit,
)

#: The event fields that, when null, inherit the room's current value.
OVERRIDE_FIELDS = (
    "custom_page_html",
    "disable_session_renewal",
    "new_users_per_minute",
    "queueing_method",
    "session_duration",
    "total_active_users",
    "turnstile_action",
    "turnstile_mode",
)


class EventInput(BaseModel):
    """The body of create (POST) and full replace (PUT)."""

    model_config = ConfigDict(extra="ignore")

    name: Name
    event_start_time: EventTime
    event_end_time: EventTime
    prequeue_start_time: EventTime | None = None
    shuffle_at_event_start: StrictBool = False
    description: StrictStr = ""
    suspended: StrictBool = False
    custom_page_html: Template | None = None
    disable_session_renewal: StrictBool | None = None
    new_users_per_minute: UserLimit | None = None
    queueing_method: QueueingMethod | None = None
    session_duration: SessionDuration | None = None
    total_active_users: UserLimit | None = None
    turnstile_action: TurnstileAction | None = None
    turnstile_mode: TurnstileMode | None = None


class EventPatch(BaseModel):
    """The body of edit (PATCH): only the fields given change; the result is validated whole."""

    model_config = ConfigDict(extra="ignore")

    name: Name | None = None
    event_start_time: EventTime | None = None
    event_end_time: EventTime | None = None
    prequeue_start_time: EventTime | None = None
    shuffle_at_event_start: StrictBool | None = None
    description: StrictStr | None = None
    suspended: StrictBool | None = None
    custom_page_html: Template | None = None
    disable_session_renewal: StrictBool | None = None
    new_users_per_minute: UserLimit | None = None
    queueing_method: QueueingMethod | None = None
    session_duration: SessionDuration | None = None
    total_active_users: UserLimit | None = None
    turnstile_action: TurnstileAction | None = None
    turnstile_mode: TurnstileMode | None = None


class Event(BaseModel):
    """An event as the API returns it (overrides may be null)."""

    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    created_on: datetime
    modified_on: datetime
    name: str
    event_start_time: str
    event_end_time: str
    prequeue_start_time: str | None
    shuffle_at_event_start: bool
    description: str
    suspended: bool
    custom_page_html: str | None
    disable_session_renewal: bool | None
    new_users_per_minute: int | None
    queueing_method: QueueingMethod | None
    session_duration: int | None
    total_active_users: int | None
    turnstile_action: TurnstileAction | None
    turnstile_mode: TurnstileMode | None


class EventDetails(BaseModel):
    """An event with every inherited field filled in from the room's current values."""

    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    created_on: datetime
    modified_on: datetime
    name: str
    event_start_time: str
    event_end_time: str
    prequeue_start_time: str | None
    shuffle_at_event_start: bool
    description: str
    suspended: bool
    custom_page_html: str
    disable_session_renewal: bool
    new_users_per_minute: int
    queueing_method: QueueingMethod
    session_duration: int
    total_active_users: int
    turnstile_action: TurnstileAction
    turnstile_mode: TurnstileMode
