"""The Mustache context of a queue page: Cloudflare's variables plus localized text.

A custom template sees exactly what Cloudflare documents for ``custom_page_html``:
the 25 ``cfWaitingRoom`` fields at the top level, ``waitTimeHours`` and
``waitTimeHourMinutes``, and the raw ``{{{turnstile}}}`` markup. Antechamber adds the
same fields under ``cfWaitingRoom`` (the JSON response's shape), the room language's
strings under ``t`` and the default page's ready-made sentences under ``page``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any

from antechamber.templates.catalog import SUPPORTED_LANGUAGES, Catalog, get_catalog

# Cloudflare's cfWaitingRoom fields, in its order, with the value a missing one takes.
FIELD_DEFAULTS: dict[str, Any] = {
    "inWaitingRoom": True,
    "waitTimeKnown": False,
    "waitTime": 0,
    "waitTime25Percentile": 0,
    "waitTime50Percentile": 0,
    "waitTime75Percentile": 0,
    "waitTimeFormatted": "unavailable",
    "queueIsFull": False,
    "queueAll": False,
    "lastUpdated": "",
    "refreshIntervalSeconds": 20,
    "queueingMethod": "fifo",
    "isFIFOQueue": True,
    "isRandomQueue": False,
    "isPassthroughQueue": False,
    "isRejectQueue": False,
    "isEventActive": False,
    "isEventPrequeueing": False,
    "timeUntilEventStart": 0,
    "timeUntilEventStartFormatted": "unavailable",
    "timeUntilEventEnd": 0,
    "timeUntilEventEndFormatted": "unavailable",
    "shuffleAtEventStart": False,
    "turnstile": "",
    "infiniteQueue": False,
}

_INT_FIELDS = (
    "waitTime",
    "waitTime25Percentile",
    "waitTime50Percentile",
    "waitTime75Percentile",
    "refreshIntervalSeconds",
    "timeUntilEventStart",
    "timeUntilEventEnd",
)


def waiting_room_fields(info: Mapping[str, Any], *, turnstile_html: str = "") -> dict[str, Any]:
    """The 25 ``cfWaitingRoom`` fields from ``info``, defaults filled in, numbers made ints."""
    fields = {name: info.get(name, default) for name, default in FIELD_DEFAULTS.items()}
    for name in _INT_FIELDS:
        fields[name] = int(fields[name] or 0)
    if "isFIFOQueue" not in info:
        # Derive the method flags when a caller only gave queueingMethod.
        method = fields["queueingMethod"]
        fields["isFIFOQueue"] = method == "fifo"
        fields["isRandomQueue"] = method == "random"
        fields["isPassthroughQueue"] = method == "passthrough"
        fields["isRejectQueue"] = method == "reject"
    if turnstile_html:
        fields["turnstile"] = turnstile_html
    return fields


def _clock(iso: str) -> str | None:
    """``lastUpdated`` as ``HH:MM:SS UTC``; the page cannot know the visitor's time zone."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%H:%M:%S UTC")


def _last_updated_html(catalog: Catalog, iso: str) -> str:
    clock = _clock(iso) if iso else None
    if clock is None:
        return ""
    before, _, after = catalog.strings["last_updated"].partition("{time}")
    # dir="ltr" isolates the clock so right-to-left text does not reorder "15:30:12 UTC".
    stamp = f'<time dir="ltr" datetime="{escape(iso)}">{clock}</time>'
    return escape(before) + stamp + escape(after)


def _wait_display(catalog: Catalog, fields: Mapping[str, Any]) -> str:
    low, high = fields["waitTime25Percentile"], fields["waitTime75Percentile"]
    if fields["isRandomQueue"] and high > low:
        # A random queue has no single answer: show the middle half of the spread.
        if low <= 0:
            return catalog.text("wait_up_to", time=catalog.duration(high))
        return catalog.text("wait_range", **{"from": catalog.duration(low), "to": catalog.duration(high)})
    return catalog.duration(fields["waitTime"])


def language_choices(current: str) -> list[dict[str, Any]]:
    """Every page language by its own name, for the picker; ``current`` is marked.

    The links are ``?lang=xx-YY``: the gateway remembers the choice in a cookie.
    """
    return [
        {"code": code, "name": get_catalog(code).strings["language_name"], "current": code == current}
        for code in SUPPORTED_LANGUAGES
    ]


def page_view(catalog: Catalog, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The default page's sentences for the visitor's state, under ``page``.

    The states exclude each other, in Cloudflare's override order: queue-all first
    (it overrides events), then the event prequeue, then a full queue, then a known
    or not-yet-known estimate. The infinite queue deliberately takes the same path
    as a real queue so a bot cannot tell them apart.
    """
    t = catalog.strings
    view: dict[str, Any] = {
        "lang": catalog.language,
        "dir": catalog.direction,
        "refresh": fields["refreshIntervalSeconds"],
        "heading": t["heading"],
        "intro": t["intro"],
        "waitKnown": False,
        "waitDisplay": "",
        "message": "",
        "shuffleNote": "",
        "lastUpdatedHtml": _last_updated_html(catalog, str(fields["lastUpdated"] or "")),
        "languages": language_choices(catalog.language),
    }
    if fields["queueAll"]:
        view.update(state="queueAll", message=t["queue_all"])
    elif fields["isEventPrequeueing"]:
        minutes = fields["timeUntilEventStart"]
        starts = catalog.text("prequeue_starts_in", time=catalog.duration(minutes)) if minutes > 0 else None
        view.update(
            state="prequeue",
            heading=t["prequeue_heading"],
            intro=t["prequeue_intro"],
            message=starts or t["prequeue_starts_soon"],
            shuffleNote=t["prequeue_shuffle"] if fields["shuffleAtEventStart"] else "",
        )
    elif fields["queueIsFull"]:
        view.update(state="full", heading=t["full_heading"], message=t["queue_full"])
    elif fields["waitTimeKnown"]:
        view.update(state="queue", waitKnown=True, waitDisplay=_wait_display(catalog, fields))
    else:
        view.update(state="calculating", message=t["wait_calculating"])
    return view


def template_context(info: Mapping[str, Any], *, language: str, turnstile_html: str = "") -> dict[str, Any]:
    """The full Mustache context for a queue page.

    Args:
        info: the ``cfWaitingRoom`` fields (missing ones take Cloudflare's defaults).
        language: a ``default_template_language`` value; unknown ones fall back to en-US.
        turnstile_html: challenge widget markup for ``{{{turnstile}}}`` (overrides
            ``info["turnstile"]`` when given).

    Example::

        ctx = template_context({"waitTimeKnown": True, "waitTime": 75}, language="de-DE")
        ctx["waitTimeHours"], ctx["page"]["waitDisplay"]  # (1, "1 Stunde 15 Minuten")
    """
    catalog = get_catalog(language)
    fields = waiting_room_fields(info, turnstile_html=turnstile_html)
    context = dict(fields)
    context["waitTimeHours"] = fields["waitTime"] // 60
    context["waitTimeHourMinutes"] = fields["waitTime"] % 60
    context["cfWaitingRoom"] = fields
    context["t"] = catalog.strings
    context["page"] = page_view(catalog, fields)
    return context
