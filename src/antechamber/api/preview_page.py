"""What a preview URL shows: the template rendered with the state its query string asks for.

The query parameters are Cloudflare's (``force_queue``, ``queue_is_full``,
``queueing_method``, ``event``, ``shuffle_at_event_start``, ``waitTime``); they
are mapped onto the same ``cfWaitingRoom`` variables a real queue page gets.
Invalid values fall back to the defaults, because the page is for eyes, not code.
The English wording is the core's, so ``waitTimeFormatted`` reads as a visitor would see it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from antechamber.core.estimate import format_duration, format_wait, format_wait_range
from antechamber.db.ids import format_timestamp
from antechamber.templates.page import render_queue_page

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
        formatted = format_wait_range(low, high)
    else:
        low = middle = high = 0
        formatted = format_wait(wait)
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
        "timeUntilEventStartFormatted": format_duration(until_start) if prequeueing else "unavailable",
        "timeUntilEventEnd": until_end,
        "timeUntilEventEndFormatted": format_duration(until_end) if event_active else "unavailable",
        "shuffleAtEventStart": event_active and _flag(query, "shuffle_at_event_start"),
        "turnstile": "",
        "infiniteQueue": False,
    }


def render_preview(template: str, query: Mapping[str, str], now: datetime) -> str:
    """The stored template rendered exactly as a visitor's queue page would be, in the queried state.

    The same renderer and context as the gateway's (``waitTimeHours``, ``t.*``, ``page.*``
    included), so what an operator previews is what visitors get; an empty template
    previews the default page.
    """
    return render_queue_page(preview_variables(query, now), language="en-US", custom_html=template)
