"""Waiting room bodies: what POST/PUT take, what PATCH takes, what every call returns."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator

from antechamber.api.models.fields import (
    CookieSuffix,
    Host,
    Name,
    QueueingMethod,
    RoutePath,
    SessionDuration,
    StatusCode,
    Template,
    TemplateLanguage,
    TurnstileAction,
    TurnstileMode,
    UserLimit,
)


class AdditionalRoute(BaseModel):
    """A further (host, path) the room covers."""

    model_config = ConfigDict(extra="ignore")

    host: Host
    path: RoutePath = "/"


class CookieAttributes(BaseModel):
    """Attributes of the room's cookie."""

    model_config = ConfigDict(extra="ignore")

    samesite: Literal["auto", "lax", "none", "strict"] = "auto"
    secure: Literal["auto", "always", "never"] = "auto"

    @model_validator(mode="after")
    def _none_needs_secure(self) -> CookieAttributes:
        # Browsers drop a SameSite=None cookie that is not Secure; Cloudflare refuses the pair.
        if self.samesite == "none" and self.secure == "never":
            raise ValueError("samesite none needs a secure cookie: secure may not be never")
        return self


class RoomInput(BaseModel):
    """The body of create (POST) and full replace (PUT); unset fields take Cloudflare's defaults.

    Read-only fields (``id``, ``created_on``, ...) and unknown fields are ignored.
    """

    model_config = ConfigDict(extra="ignore")

    host: Host
    name: Name
    new_users_per_minute: UserLimit
    total_active_users: UserLimit
    additional_routes: list[AdditionalRoute] = Field(default_factory=list)
    cookie_attributes: CookieAttributes = Field(default_factory=CookieAttributes)
    cookie_suffix: CookieSuffix = ""
    custom_page_html: Template = ""
    default_template_language: TemplateLanguage = "en-US"
    description: StrictStr = ""
    disable_session_renewal: StrictBool = False
    enabled_origin_commands: list[Literal["revoke"]] = Field(default_factory=list)
    json_response_enabled: StrictBool = False
    path: RoutePath = "/"
    queue_all: StrictBool = False
    queueing_method: QueueingMethod = "fifo"
    queueing_status_code: StatusCode = 200
    session_duration: SessionDuration = 5
    suspended: StrictBool = False
    turnstile_action: TurnstileAction = "log"
    turnstile_mode: TurnstileMode = "invisible"


class RoomPatch(BaseModel):
    """The body of edit (PATCH): only the fields given change; the result is validated whole."""

    model_config = ConfigDict(extra="ignore")

    host: Host | None = None
    name: Name | None = None
    new_users_per_minute: UserLimit | None = None
    total_active_users: UserLimit | None = None
    additional_routes: list[AdditionalRoute] | None = None
    cookie_attributes: CookieAttributes | None = None
    cookie_suffix: CookieSuffix | None = None
    custom_page_html: Template | None = None
    default_template_language: TemplateLanguage | None = None
    description: StrictStr | None = None
    disable_session_renewal: StrictBool | None = None
    enabled_origin_commands: list[Literal["revoke"]] | None = None
    json_response_enabled: StrictBool | None = None
    path: RoutePath | None = None
    queue_all: StrictBool | None = None
    queueing_method: QueueingMethod | None = None
    queueing_status_code: StatusCode | None = None
    session_duration: SessionDuration | None = None
    suspended: StrictBool | None = None
    turnstile_action: TurnstileAction | None = None
    turnstile_mode: TurnstileMode | None = None


class Room(BaseModel):
    """A waiting room as the API returns it."""

    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    created_on: datetime
    modified_on: datetime
    next_event_prequeue_start_time: str | None
    next_event_start_time: str | None
    host: str
    name: str
    new_users_per_minute: int
    total_active_users: int
    additional_routes: list[AdditionalRoute]
    cookie_attributes: CookieAttributes
    cookie_suffix: str
    custom_page_html: str
    default_template_language: TemplateLanguage
    description: str
    disable_session_renewal: bool
    enabled_origin_commands: list[Literal["revoke"]]
    json_response_enabled: bool
    path: str
    queue_all: bool
    queueing_method: QueueingMethod
    queueing_status_code: Literal[200, 202, 429]
    session_duration: int
    suspended: bool
    turnstile_action: TurnstileAction
    turnstile_mode: TurnstileMode


class DeletedObject(BaseModel):
    """The result of a delete: the id that is gone."""

    id: str
