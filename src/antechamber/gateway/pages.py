"""The gateway's own responses: queue and reject pages (HTML or JSON), error pages.

Every one is uncacheable (``Cache-Control: no-store``): each carries a
visitor's own cookie, and a shared cache serving one visitor's page to
another would hand out places in line.
"""

from __future__ import annotations

import html
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from typing import Any

from antechamber.core.info import QueueInfo
from antechamber.core.types import REFRESH_INTERVAL_S, RoomConfig
from antechamber.gateway.upstream import Headers
from antechamber.templates.page import SUPPORTED_LANGUAGES, render_queue_page, render_reject_page

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_HTML = b"text/html; charset=utf-8"
_JSON = b"application/json"
# Header values for every refresh interval a queue page can carry (FIFO users near their turn get less than 20 s).
_REFRESH = tuple(str(seconds).encode() for seconds in range(REFRESH_INTERVAL_S + 1))
_LANGUAGES = frozenset(SUPPORTED_LANGUAGES)
_LANGUAGES_LOWER = {lang.lower(): lang for lang in SUPPORTED_LANGUAGES}


@dataclass(slots=True)
class Reply:
    """A complete response the gateway answers by itself."""

    status: int
    body: bytes
    headers: Headers = field(default_factory=list)


def supported_language(tag: str | None) -> str | None:
    """``tag`` as a supported ``default_template_language`` value (case-insensitive), else ``None``."""
    if not tag or len(tag) > 16:
        return None
    if tag in _LANGUAGES:
        return tag
    return _LANGUAGES_LOWER.get(tag.replace("_", "-").lower())


#: Every QueueInfo field a page can show, except ``last_updated_ms`` (keyed to the second)
#: and ``estimated_wait_ms`` (internal, never shown).
_PAGE_FIELDS = attrgetter(
    "wait_time_known",
    "wait_time",
    "wait_time_25_percentile",
    "wait_time_50_percentile",
    "wait_time_75_percentile",
    "wait_time_formatted",
    "queue_is_full",
    "queue_all",
    "refresh_interval_seconds",
    "queueing_method",
    "is_event_active",
    "is_event_prequeueing",
    "time_until_event_start",
    "time_until_event_start_formatted",
    "time_until_event_end",
    "time_until_event_end_formatted",
    "shuffle_at_event_start",
    "infinite_queue",
    "turnstile",
    "in_waiting_room",
)
_PAGE_CACHE_MAX = 256


class PageCache:
    """Rendered queue pages, by everything that can change one (a small LRU).

    A queued visitor's page depends only on the room's effective config, the
    language and the ``cfWaitingRoom`` fields, which are the same for everyone in
    the same state; rendering the ~4 KB Mustache page is most of a queued
    refresh's cost. ``lastUpdated`` carries milliseconds but the default page shows
    it to the second, so the key cuts it to the second (a custom template that
    names ``lastUpdated`` keeps the milliseconds in its key).
    """

    __slots__ = ("_entries", "_max")

    def __init__(self, maxsize: int = _PAGE_CACHE_MAX) -> None:
        self._entries: OrderedDict[tuple[Any, ...], tuple[RoomConfig, bytes]] = OrderedDict()
        self._max = maxsize

    def page(self, config: RoomConfig, info: QueueInfo, language: str, turnstile_html: str) -> bytes:
        """The HTML queue page, rendered once per distinct key."""
        custom = config.custom_page_html or None
        stamp = info.last_updated_ms
        if custom is None or "lastUpdated" not in custom:
            stamp //= 1000
        # id(config) is only trusted together with the identity check below (ids are reused).
        key = (id(config), language, turnstile_html, stamp, _PAGE_FIELDS(info))
        entries = self._entries
        hit = entries.get(key)
        if hit is not None and hit[0] is config:
            entries.move_to_end(key)
            return hit[1]
        fields = info.to_json_dict()
        if turnstile_html:
            fields["turnstile"] = turnstile_html
        body = render_queue_page(fields, language=language, custom_html=custom, turnstile_html=turnstile_html).encode()
        entries[key] = (config, body)
        if len(entries) > self._max:
            entries.popitem(last=False)
        return body


_pages = PageCache()


def queue_reply(
    config: RoomConfig,
    info: QueueInfo,
    *,
    reject: bool,
    language: str,
    wants_json: bool,
    status: int | None = None,
    turnstile_html: str = "",
) -> Reply:
    """The queue (or reject) response for one visitor.

    Args:
        config: the room's effective configuration.
        info: the page fields from the decision.
        reject: the reject page (static, no ``Refresh``).
        language: the page language (a supported tag).
        wants_json: the request asked for exactly ``application/json``.
        status: overrides ``queueing_status_code`` (forward-auth needs a non-2xx status).
        turnstile_html: challenge widget markup for ``{{{turnstile}}}``.
    """
    code = config.queueing_status_code if status is None else status
    if config.json_response_enabled and wants_json:
        fields = info.to_json_dict()
        if turnstile_html:
            fields["turnstile"] = turnstile_html
        body = json.dumps({"cfWaitingRoom": fields}, separators=(",", ":")).encode()
        content_type = _JSON
    elif reject:
        body = render_reject_page(language).encode()
        content_type = _HTML
    else:
        body = _pages.page(config, info, language, turnstile_html)
        content_type = _HTML
    headers: Headers = [(b"content-type", content_type), (b"cache-control", b"no-store")]
    refresh = _REFRESH[min(info.refresh_interval_seconds or REFRESH_INTERVAL_S, REFRESH_INTERVAL_S)]
    if not reject:
        headers.append((b"refresh", refresh))
    if code == 429:
        headers.append((b"retry-after", refresh))
    return Reply(code, body, headers)


def error_reply(status: int, title: str, message: str) -> Reply:
    """A small, self-contained HTML error page (502, 504, 404 ...)."""
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{status} {html.escape(title)}</title></head>"
        f"<body><main><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>"
        f"<p><small>Error {status}</small></p></main></body></html>"
    )
    return Reply(status, page.encode(), [(b"content-type", _HTML), (b"cache-control", b"no-store")])


_TEXT = (b"content-type", b"text/plain; charset=utf-8")
_NO_STORE = (b"cache-control", b"no-store")


@lru_cache(maxsize=128)
def _text_body(message: str) -> bytes:
    return message.encode() + b"\n"


def text_reply(status: int, message: str) -> Reply:
    """A plain-text answer for the gateway's own endpoints (a fresh header list: callers add cookies)."""
    return Reply(status, _text_body(message), [_TEXT, _NO_STORE])


async def send_reply(send: Send, reply: Reply, *, head_only: bool = False, prefix: str = "http") -> None:
    """Send ``reply`` as an ASGI response (``prefix="websocket.http"`` for a refused upgrade)."""
    headers = [*reply.headers, (b"content-length", str(len(reply.body)).encode())]
    await send({"type": f"{prefix}.response.start", "status": reply.status, "headers": headers})
    await send({"type": f"{prefix}.response.body", "body": b"" if head_only else reply.body, "more_body": False})
