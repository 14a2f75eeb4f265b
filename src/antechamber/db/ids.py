"""Identifiers and timestamps as Cloudflare formats them."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

#: Cloudflare ids are 32 lowercase hexadecimal characters.
ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")


def new_id() -> str:
    """Return a fresh 32-lowercase-hex identifier."""
    return uuid.uuid4().hex


def is_id(value: str) -> bool:
    """Whether ``value`` has the shape of a Cloudflare identifier."""
    return ID_PATTERN.fullmatch(value) is not None


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """Render a moment as ISO 8601 in UTC with microseconds and a ``Z``.

    The fixed width makes stored timestamps sort lexicographically in time order
    on every backend.
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> datetime:
    """Parse a stored or client-supplied ISO 8601 timestamp; naive means UTC.

    Raises ValueError for text that is not one, or a time that has no UTC year
    (0001-01-01T00:00+00:01 is in the year 0).
    """
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text} is out of range") from None
