"""What a preview URL shows: the template rendered with the state its query string asks for.

The query parameters are Cloudflare's (``force_queue``, ``queue_is_full``,
``queueing_method``, ``event``, ``shuffle_at_event_start``, ``waitTime``); they
are mapped onto the same ``cfWaitingRoom`` variables a real queue page gets.
Invalid values fall back to the defaults, because the page is for eyes, not code.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from antechamber.db.ids import format_timestamp

#: The page a passthrough room "lets you through" to.
WELCOME_PAGE = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Welcome</title></head>'
    "<body><h1>Welcome</h1><p>This stands in for your origin website.</p></body></html>"
)
QUEUEING_METHODS = ("fifo", "random", "passthrough", "reject")
EVENT_STATES = ("none", "prequeueing", "started")
DEFAULT_WAIT_MINUTES = 10
#: Stand-in event timings for the preview, in minutes.
PREVIEW_EVENT_LENGTH = 60


def _flag(query: Mapping[str, str], name: str) -> bool:
    return query.get(name, "").strip().lower() == "true"


def _choice(query: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = query.get(name, "").strip().lower()
    return value if value in allowed else allowed[0]


def _wait_minutes(query: Mapping[str, str]) -> int:
    raw = query.get("waitTime", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_WAIT_MINUTES


def format_minutes(minutes: int) -> str:
    """English wait time, e.g. ``"1 minute"``, ``"10 minutes"``, ``"2 hours 5 minutes"``."""
    hours, rest = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour" + ("s" if hours != 1 else ""))
    if rest or not hours:
        parts.append(f"{rest} minute" + ("s" if rest != 1 else ""))
    return " ".join(parts)


def shows_origin(query: Mapping[str, str]) -> bool:
    """Whether the preview stands for the origin (passthrough, nobody held back)."""
    method = _choice(query, "queueing_method", QUEUEING_METHODS)
    event = _choice(query, "event", EVENT_STATES)
    return method == "passthrough" and not _flag(query, "force_queue") and event != "prequeueing"


def preview_variables(query: Mapping[str, str], now: datetime) -> dict[str, Any]:
    """The ``cfWaitingRoom`` variables for a preview in the state the query describes."""
    method = _choice(query, "queueing_method", QUEUEING_METHODS)
    event = _choice(query, "event", EVENT_STATES)
    queue_all = _flag(query, "force_queue")
    wait = _wait_minutes(query)
    event_active = event != "none"
    prequeueing = event == "prequeueing"
    wait_known = not (queue_all or prequeueing)
    if method == "random":
        low, middle, high = max(1, wait // 2), wait, wait + wait // 2
        formatted = f"{format_minutes(low)} to {format_minutes(high)}"
    else:
        low = middle = high = 0
        formatted = format_minutes(wait)
    until_start = wait if prequeueing else 0
    until_end = until_start + PREVIEW_EVENT_LENGTH if event_active else 0
    return {
        "inWaitingRoom": True,
        "waitTimeKnown": wait_known,
        "waitTime": wait if wait_known else 0,
        "waitTime25Percentile": low if wait_known else 0,
        "waitTime50Percentile": middle if wait_known else 0,
        "waitTime75Percentile": high if wait_known else 0,
        "waitTimeFormatted": formatted if wait_known else "unavailable",
        "waitTimeHours": wait // 60 if wait_known else 0,
        "waitTimeHourMinutes": wait % 60 if wait_known else 0,
        "queueIsFull": _flag(query, "queue_is_full"),
        "queueAll": queue_all,
        "lastUpdated": format_timestamp(now),
        "refreshIntervalSeconds": 0 if method == "reject" else 20,
        "queueingMethod": method,
        "isFIFOQueue": method == "fifo",
        "isRandomQueue": method == "random",
        "isPassthroughQueue": method == "passthrough",
        "isRejectQueue": method == "reject",
        "isEventActive": event_active,
        "isEventPrequeueing": prequeueing,
        "timeUntilEventStart": until_start,
        "timeUntilEventStartFormatted": format_minutes(until_start) if prequeueing else "unavailable",
        "timeUntilEventEnd": until_end,
        "timeUntilEventEndFormatted": format_minutes(until_end) if event_active else "unavailable",
        "shuffleAtEventStart": event_active and _flag(query, "shuffle_at_event_start"),
        "turnstile": "",
        "infiniteQueue": False,
    }


def preview_context(query: Mapping[str, str], now: datetime) -> dict[str, Any]:
    """Template context: the variables at top level and under ``cfWaitingRoom``."""
    variables = preview_variables(query, now)
    return {**variables, "cfWaitingRoom": variables}
