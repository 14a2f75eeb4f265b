"""Field types shared by the request models, with Cloudflare's documented limits.

Request fields are strict: JSON ``"300"`` is not an integer and ``1`` is not a
boolean, because Cloudflare's API rejects them and silently coercing would hide
client bugs.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StrictInt, StrictStr
from pydantic_core import PydanticCustomError

from antechamber.db.ids import parse_timestamp
from antechamber.templates.render import TemplateError, compile_template

MAX_USERS = 2_147_483_647
MIN_USERS = 200
#: The lowest ``total_active_users`` / ``new_users_per_minute`` accepted in the current request.
#: Cloudflare's 200 unless the operator lowered it for a small site (DESIGN section 3); the
#: API app sets it per request, so apps with different settings can share a process.
min_user_limit: ContextVar[int] = ContextVar("antechamber_min_user_limit", default=MIN_USERS)
#: The dashboard's limit on an uploaded template; the API applies it too.
MAX_TEMPLATE_BYTES = 1_048_576

QueueingMethod = Literal["fifo", "random", "passthrough", "reject"]
TurnstileMode = Literal["off", "invisible", "visible_non_interactive", "visible_managed"]
TurnstileAction = Literal["log", "infinite_queue"]
TemplateLanguage = Literal[
    "en-US", "es-ES", "de-DE", "fr-FR", "it-IT", "ja-JP", "ko-KR", "pt-BR", "zh-CN", "zh-TW",
    "nl-NL", "pl-PL", "id-ID", "tr-TR", "ar-EG", "ru-RU", "fa-IR", "bg-BG", "hr-HR", "cs-CZ",
    "da-DK", "fi-FI", "lt-LT", "lv-LV", "ms-MY", "nb-NO", "ro-RO", "el-GR", "he-IL", "hi-IN",
    "hu-HU", "sr-BA", "sk-SK", "sl-SI", "sv-SE", "tl-PH", "th-TH", "uk-UA", "vi-VN",
]  # fmt: skip

_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_HOST_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def _check_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError("only letters, digits, '-' and '_' are allowed, and it must not be empty")
    return value


def _check_host(value: str) -> str:
    if "://" in value:
        raise ValueError("host must not include a scheme (write example.com, not https://example.com)")
    if "*" in value:
        raise ValueError("host must not contain wildcards")
    if "/" in value or ":" in value:
        raise ValueError("host must be a bare hostname without port or path")
    labels = value.rstrip(".").split(".")
    # "localhost" is the one single-label name allowed: the demo and local trials run on it.
    if len(labels) < 2 and labels[0].lower() != "localhost":
        raise ValueError("host must be a valid hostname such as shop.example.com")
    if len(value) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise ValueError("host must be a valid hostname such as shop.example.com")
    return value


def _check_path(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError("path must start with '/'")
    if "*" in value:
        raise ValueError("path must not contain wildcards (every subpath is already covered)")
    if "?" in value or "#" in value:
        raise ValueError("path must not contain a query string or fragment")
    if any(ch.isspace() for ch in value):
        raise ValueError("path must not contain whitespace")
    return value


def _check_template(value: str) -> str:
    if len(value.encode()) > MAX_TEMPLATE_BYTES:
        raise ValueError(f"the template must be at most {MAX_TEMPLATE_BYTES} bytes")
    try:
        compile_template(value)
    except TemplateError as exc:
        # A template that cannot render would break the queue page at the worst moment.
        raise ValueError(f"not a valid Mustache template: {exc}") from None
    return value


def _check_cookie_suffix(value: str) -> str:
    # The suffix becomes part of a cookie name, so only cookie-token characters fit.
    if value and not _NAME.fullmatch(value):
        raise ValueError("only letters, digits, '-' and '_' are allowed")
    return value


def _normalize_event_time(value: str) -> str:
    try:
        moment = parse_timestamp(value)
    except ValueError:
        raise ValueError("must be an ISO 8601 timestamp such as 2026-05-01T12:00:00Z") from None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _check_user_minimum(value: int) -> int:
    minimum = min_user_limit.get()
    if value < minimum:
        # Same error type and wording as pydantic's own ``ge`` check, so clients see no difference.
        raise PydanticCustomError(
            "greater_than_equal", "Input should be greater than or equal to {ge}", {"ge": minimum}
        )
    return value


def _require_int(value: Any) -> Any:
    # pydantic's Literal accepts 200.0 for 200; the API should not.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be an integer")
    return value


Name = Annotated[StrictStr, AfterValidator(_check_name)]
Host = Annotated[StrictStr, AfterValidator(_check_host)]
RoutePath = Annotated[StrictStr, AfterValidator(_check_path)]
# The minimum is checked at run time (it is a setting); the schema documents Cloudflare's.
UserLimit = Annotated[
    StrictInt, Field(le=MAX_USERS, json_schema_extra={"minimum": MIN_USERS}), AfterValidator(_check_user_minimum)
]
SessionDuration = Annotated[StrictInt, Field(ge=1, le=30)]
Template = Annotated[StrictStr, AfterValidator(_check_template)]
CookieSuffix = Annotated[StrictStr, AfterValidator(_check_cookie_suffix)]
StatusCode = Annotated[Literal[200, 202, 429], BeforeValidator(_require_int)]
EventTime = Annotated[
    StrictStr, AfterValidator(_normalize_event_time), Field(json_schema_extra={"format": "date-time"})
]
