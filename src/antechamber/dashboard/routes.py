"""The dashboard's pages and forms under ``/dashboard``.

Reads and changes go through the API in-process (:class:`InProcessApi`) as the
signed-in principal; every form post checks the session's CSRF token first. An
emergency action (queue-all, suspend, their undoing, a delete) asks for a
confirmation: the browser's own dialog when scripts run, a page of its own when not.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, get_args
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from antechamber.api.models.fields import MIN_USERS, QueueingMethod, TemplateLanguage, TurnstileAction, TurnstileMode
from antechamber.dashboard import charts, forms
from antechamber.dashboard.in_process import Answer, InProcessApi
from antechamber.dashboard.pages import SECURITY_HEADERS, page
from antechamber.dashboard.sessions import (
    SESSION_COOKIE,
    SESSION_LIFETIME_MS,
    SIGNIN_COOKIE,
    SIGNIN_NONCE_MAX_AGE_S,
    Viewer,
    cookie,
    is_secure,
    new_nonce,
    now_ms,
    viewer_of,
)
from antechamber.dashboard.signin_limit import SignInLimiter
from antechamber.db import accounts, tokens
from antechamber.db import dashboard as stored
from antechamber.db.engine import Database

PREFIX = "/dashboard"
router = APIRouter(prefix=PREFIX, include_in_schema=False)

#: The chart ranges offered, and the one that follows the present (refreshed every few seconds).
RANGES = {"1h": timedelta(hours=1), "6h": timedelta(hours=6), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
LIVE_RANGE = "1h"
#: What a notice key in the query string says (only these: no visitor text is ever reflected).
NOTICES = {
    "saved": "Saved.",
    "created": "Created.",
    "deleted": "Deleted.",
    "queue_all_on": "Queue-all is on: every new visitor waits.",
    "queue_all_off": "Queue-all is off: new visitors are let in as room frees up.",
    "suspended": "The room is suspended: visitors go straight to the origin.",
    "resumed": "The room is back on.",
}
#: The emergency buttons: the room fields each sets, its notice, and what the confirmation says.
EMERGENCIES: dict[str, tuple[dict[str, bool], str, str]] = {
    "queue_all_on": ({"queue_all": True}, "queue_all_on", "Queue every new visitor, whatever room is free?"),
    "queue_all_off": ({"queue_all": False}, "queue_all_off", "Stop queueing everyone and let visitors in again?"),
    "suspend": ({"suspended": True}, "suspended", "Suspend the room? Everyone goes straight to the origin."),
    "resume": ({"suspended": False}, "resumed", "Turn the room back on?"),
}
#: The states a template preview can show (the preview page's query parameters, as Cloudflare's).
PREVIEW_STATES = (
    ("Queued, 10 minutes to wait", "force_queue=true&waitTime=10"),
    ("Queue full, over an hour", "force_queue=true&queue_is_full=true&waitTime=75"),
    ("Event prequeue", "event=prequeueing&waitTime=5"),
    ("Random queue", "force_queue=true&queueing_method=random"),
)
# The choices the forms offer are the API's own.
QUEUEING_METHODS = get_args(QueueingMethod)
TURNSTILE_MODES = get_args(TurnstileMode)
TURNSTILE_ACTIONS = get_args(TurnstileAction)
LANGUAGES = get_args(TemplateLanguage)


def _api(request: Request) -> InProcessApi:
    api: InProcessApi = request.app.state.dashboard_api
    return api


def _limiter(request: Request) -> SignInLimiter:
    limiter: SignInLimiter = request.app.state.dashboard_limiter
    return limiter


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _to(path: str, notice: str | None = None) -> RedirectResponse:
    target = PREFIX + path + (f"?notice={notice}" if notice else "")
    return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)


def _sign_in_first(request: Request) -> Response:
    if request.headers.get("hx-request") or request.url.path.endswith(".json"):
        return JSONResponse({"signed_in": False}, status_code=401, headers={"HX-Redirect": PREFIX + "/sign-in"})
    return _to("/sign-in")


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("notice", ""))


def _common(request: Request, viewer: Viewer) -> dict[str, Any]:
    return {"viewer": viewer, "notice": _notice(request), "prefix": PREFIX}


class Answered(Exception):
    """A dependency's own answer in place of the route's: not signed in, or a form without its CSRF token."""

    def __init__(self, response: Response) -> None:
        super().__init__("answered by a dependency")
        self.response = response


async def answered(_request: Request, exc: Exception) -> Response:
    """The app's handler for :class:`Answered`."""
    assert isinstance(exc, Answered)
    return exc.response


async def signed_in(request: Request) -> Viewer:
    """The signed-in viewer; otherwise the way to the sign-in."""
    viewer = await viewer_of(request)
    if viewer is None:
        raise Answered(_sign_in_first(request))
    return viewer


SignedIn = Annotated[Viewer, Depends(signed_in)]


@dataclass(frozen=True, slots=True)
class Posted:
    """A form posted by a signed-in viewer with this session's CSRF token: its text fields."""

    viewer: Viewer
    fields: dict[str, str]


async def posted(request: Request, viewer: SignedIn) -> Posted:
    """The posted form, once its CSRF token is found to be this session's (403 otherwise)."""
    form = await request.form()
    sent = form.get("csrf")
    if not viewer.csrf_matches(sent if isinstance(sent, str) else None):
        raise Answered(
            page(
                "message.html",
                403,
                title="Form expired",
                text="This form did not carry this session's security token. Reload the page and try again.",
                **_common(request, viewer),
            )
        )
    return Posted(viewer, {key: value for key, value in form.items() if isinstance(value, str)})


PostedForm = Annotated[Posted, Depends(posted)]


def _refused(request: Request, viewer: Viewer, answer: Answer) -> Response:
    """The API's refusal of an action, as a page."""
    return page(
        "message.html", answer.status, title="Not done", text="; ".join(answer.messages), **_common(request, viewer)
    )


# ---- sign-in -------------------------------------------------------------------------------


@router.get("")
async def home(request: Request) -> Response:
    """The rooms, or the sign-in."""
    return _to("/rooms" if await viewer_of(request) else "/sign-in")


def _sign_in_page(request: Request, status: int = 200, error: str | None = None) -> Response:
    nonce = new_nonce()
    response = page("sign_in.html", status, nonce=nonce, error=error, prefix=PREFIX, viewer=None, notice=None)
    response.headers.append("set-cookie", cookie(SIGNIN_COOKIE, nonce, SIGNIN_NONCE_MAX_AGE_S, is_secure(request)))
    return response


@router.get("/sign-in")
async def sign_in_form(request: Request) -> Response:
    """The sign-in form."""
    if await viewer_of(request) is not None:
        return _to("/rooms")
    return _sign_in_page(request)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """Open a session for an API token or the operator password (rate-limited; the secret is never logged)."""
    form = await request.form()
    nonce, secret = form.get("nonce"), form.get("secret")
    expected = request.cookies.get(SIGNIN_COOKIE)
    if not isinstance(nonce, str) or not expected or nonce != expected:
        return _sign_in_page(request, 403, "The sign-in form expired. Please try again.")
    client = _client(request)
    limiter = _limiter(request)
    wait = limiter.retry_after(client)
    if wait > 0:
        response = _sign_in_page(request, 429, f"Too many failed sign-ins. Try again in {int(wait) + 1} seconds.")
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    if not isinstance(secret, str) or not secret or len(secret) > 1000:
        limiter.failed(client)
        return _sign_in_page(request, 401, "That is not a valid API token or operator password.")
    database: Database = request.app.state.database
    async with database.begin() as connection:
        token = await tokens.token_for_secret(connection, secret)
        known = token is not None or await stored.check_operator_password(connection, secret)
        if not known:
            session = None
        else:
            moment = now_ms(request)
            await stored.prune_sessions(connection, moment)
            session = await stored.create_session(
                connection, None if token is None else token.id, moment, SESSION_LIFETIME_MS
            )
    if session is None:
        limiter.failed(client)
        return _sign_in_page(request, 401, "That is not a valid API token or operator password.")
    limiter.succeeded(client)
    response = _to("/rooms")
    secure = is_secure(request)
    response.headers.append("set-cookie", cookie(SESSION_COOKIE, session, SESSION_LIFETIME_MS // 1000, secure))
    response.headers.append("set-cookie", cookie(SIGNIN_COOKIE, "", 0, secure))
    return response


@router.post("/sign-out")
async def sign_out(request: Request, post: PostedForm) -> Response:
    """End the session."""
    database: Database = request.app.state.database
    async with database.begin() as connection:
        await stored.end_session(connection, post.viewer.secret)
    response = _to("/sign-in")
    response.headers.append("set-cookie", cookie(SESSION_COOKIE, "", 0, is_secure(request)))
    return response


# ---- rooms ---------------------------------------------------------------------------------


async def _zones(request: Request, viewer: Viewer) -> list[accounts.Zone]:
    database: Database = request.app.state.database
    async with database.connect() as connection:
        return [zone for zone in await accounts.list_zones(connection) if viewer.principal.allows_zone(zone.id)]


async def _rooms_with_status(request: Request, viewer: Viewer) -> list[dict[str, Any]]:
    api = _api(request)
    listed: list[dict[str, Any]] = []
    for zone in await _zones(request, viewer):
        for room in await api.all_pages(viewer.principal, f"/zones/{zone.id}/waiting_rooms"):
            listed.append({"zone": zone, "room": room})

    async def status(item: dict[str, Any]) -> None:
        answer = await api.call(
            viewer.principal, "GET", f"/zones/{item['zone'].id}/waiting_rooms/{item['room']['id']}/status"
        )
        item["status"] = answer.result if answer.ok else None

    await asyncio.gather(*(status(item) for item in listed))
    return listed


@router.get("/rooms")
async def rooms_page(request: Request, viewer: SignedIn) -> Response:
    """Every room the principal may see, with its live status."""
    items = await _rooms_with_status(request, viewer)
    return page("rooms.html", items=items, **_common(request, viewer))


@router.get("/rooms/live")
async def rooms_live(request: Request, viewer: SignedIn) -> Response:
    """The rooms table's body, for the page to refresh itself."""
    items = await _rooms_with_status(request, viewer)
    return page("rooms_rows.html", items=items, **_common(request, viewer))


def _room_form_context(request: Request, viewer: Viewer, **extra: Any) -> dict[str, Any]:
    return {
        "methods": QUEUEING_METHODS,
        "turnstile_modes": TURNSTILE_MODES,
        "turnstile_actions": TURNSTILE_ACTIONS,
        "languages": LANGUAGES,
        "min_users": getattr(request.app.state, "min_user_limit", MIN_USERS),
        "errors": forms.FormErrors(),
        **_common(request, viewer),
        **extra,
    }


_NEW_ROOM = {
    "name": "",
    "host": "",
    "path": "/",
    "description": "",
    "total_active_users": 200,
    "new_users_per_minute": 200,
    "session_duration": 5,
    "queueing_method": "fifo",
    "queueing_status_code": 200,
    "default_template_language": "en-US",
    "json_response_enabled": False,
    "disable_session_renewal": False,
    "queue_all": False,
    "suspended": False,
    "turnstile_mode": "invisible",
    "turnstile_action": "log",
    "custom_page_html": "",
}


@router.get("/rooms/new")
async def new_room_form(request: Request, viewer: SignedIn) -> Response:
    """The form for a new room."""
    zones = await _zones(request, viewer)
    return page("room_form.html", **_room_form_context(request, viewer, room=dict(_NEW_ROOM), zones=zones, zone=None))


@router.post("/rooms/new")
async def create_room(request: Request, post: PostedForm) -> Response:
    """Create a room through the API; its refusals are shown on the form."""
    viewer, fields = post.viewer, post.fields
    zones = await _zones(request, viewer)
    zone = next((zone for zone in zones if zone.id == fields.get("zone_id")), None)
    body = forms.ROOM.body(fields)
    if zone is None:
        answer = Answer(400, {"success": False, "errors": [{"message": "zone_id: choose one of your zones"}]})
    else:
        answer = await _api(request).call(viewer.principal, "POST", f"/zones/{zone.id}/waiting_rooms", json=body)
    if answer.ok:
        return _to(f"/zones/{zone.id}/rooms/{answer.result['id']}", "created")  # type: ignore[union-attr]
    errors = forms.FormErrors.of(answer.messages, [*forms.ROOM.kinds, "zone_id"])
    context = _room_form_context(request, viewer, room={**_NEW_ROOM, **fields}, zones=zones, zone=None, errors=errors)
    return page("room_form.html", answer.status, **context)


async def _room(request: Request, viewer: Viewer, zone_id: str, room_id: str) -> Answer:
    return await _api(request).call(viewer.principal, "GET", f"/zones/{zone_id}/waiting_rooms/{room_id}")


def _missing(request: Request, viewer: Viewer, answer: Answer) -> Response:
    text = "; ".join(answer.messages) or "Not found."
    return page("message.html", answer.status, title="Not available", text=text, **_common(request, viewer))


@router.get("/zones/{zone_id}/rooms/{room_id}")
async def room_page(request: Request, zone_id: str, room_id: str, viewer: SignedIn) -> Response:
    """A room: live figures, charts, emergency buttons, events and rules."""
    api = _api(request)
    base = f"/zones/{zone_id}/waiting_rooms/{room_id}"
    room, status, event_list, rule_list, analytics = await asyncio.gather(
        api.call(viewer.principal, "GET", base),
        api.call(viewer.principal, "GET", base + "/status"),
        api.call(viewer.principal, "GET", base + "/events", params={"per_page": "100"}),
        api.call(viewer.principal, "GET", base + "/rules"),
        _summary(request, viewer, zone_id, room_id),
    )
    if not room.ok:
        return _missing(request, viewer, room)
    chosen = request.query_params.get("range", LIVE_RANGE)
    return page(
        "room.html",
        zone_id=zone_id,
        room=room.result,
        live=status.result if status.ok else None,
        events=event_list.result if event_list.ok else [],
        rules=rule_list.result if rule_list.ok else [],
        summary=analytics,
        ranges=list(RANGES),
        chosen=chosen if chosen in RANGES or chosen == "custom" else LIVE_RANGE,
        range_query=_range_query(request),
        since=request.query_params.get("since", ""),
        until=request.query_params.get("until", ""),
        emergencies=EMERGENCIES,
        local_time=forms.local_time,
        **_common(request, viewer),
    )


@router.get("/zones/{zone_id}/rooms/{room_id}/live")
async def room_live(request: Request, zone_id: str, room_id: str, viewer: SignedIn) -> Response:
    """The room's live figures, for the page to refresh itself."""
    api = _api(request)
    base = f"/zones/{zone_id}/waiting_rooms/{room_id}"
    room, status = await asyncio.gather(
        api.call(viewer.principal, "GET", base), api.call(viewer.principal, "GET", base + "/status")
    )
    if not room.ok:
        return _missing(request, viewer, room)
    return page(
        "room_live.html",
        zone_id=zone_id,
        room=room.result,
        live=status.result if status.ok else None,
        **_common(request, viewer),
    )


def _range(request: Request) -> tuple[datetime, datetime] | str:
    """The chart range asked for: a named one ending now, or ``since``/``until`` (UTC form times)."""
    chosen = request.query_params.get("range", LIVE_RANGE)
    now = request.app.state.clock()
    if chosen in RANGES:
        return now - RANGES[chosen], now
    try:
        since = datetime.fromisoformat(forms.utc_time(request.query_params.get("since", "")))
        until = datetime.fromisoformat(forms.utc_time(request.query_params.get("until", "")))
    except ValueError:
        return "since and until must be times such as 2026-12-07T10:00"
    if since.tzinfo is None or until.tzinfo is None:
        return "since and until must be times such as 2026-12-07T10:00"
    return since.astimezone(UTC), until.astimezone(UTC)


def _range_query(request: Request) -> str:
    """The query string naming the page's range, for the charts' and the summary's own requests."""
    chosen = request.query_params.get("range", LIVE_RANGE)
    if chosen == "custom":
        keep = {name: request.query_params.get(name, "") for name in ("range", "since", "until")}
    else:
        keep = {"range": chosen if chosen in RANGES else LIVE_RANGE}
    return urlencode(keep)


@dataclass(frozen=True)
class Analytics:
    """The analytics endpoint's answer for a range."""

    answer: Answer
    since: datetime
    until: datetime


async def _analytics(request: Request, viewer: Viewer, zone_id: str, room_id: str) -> Analytics | str:
    """The analytics endpoint's answer for the range asked, or why the range is refused."""
    span = _range(request)
    if isinstance(span, str):
        return span
    since, until = span
    answer = await _api(request).call(
        viewer.principal,
        "GET",
        f"/zones/{zone_id}/waiting_rooms/{room_id}/analytics",
        params={"since": since.isoformat(), "until": until.isoformat()},
    )
    return Analytics(answer, since, until)


async def _summary(request: Request, viewer: Viewer, zone_id: str, room_id: str) -> dict[str, Any] | None:
    """The range's totals (peaks, admissions, waits), or None when there are none to show."""
    answer = await _analytics(request, viewer, zone_id, room_id)
    if isinstance(answer, str) or not answer.answer.ok:
        return None
    summary: dict[str, Any] = answer.answer.result["summary"]
    return summary


@router.get("/zones/{zone_id}/rooms/{room_id}/summary")
async def room_summary(request: Request, zone_id: str, room_id: str, viewer: SignedIn) -> Response:
    """The range's totals, for the room page to refresh on the live range."""
    return page("room_summary.html", summary=await _summary(request, viewer, zone_id, room_id))


@router.get("/zones/{zone_id}/rooms/{room_id}/series.json")
async def room_series(request: Request, zone_id: str, room_id: str, viewer: SignedIn) -> Response:
    """The charts' columns for the range asked (from the analytics endpoint)."""
    analytics = await _analytics(request, viewer, zone_id, room_id)
    if isinstance(analytics, str):
        return JSONResponse({"error": analytics}, status_code=400, headers=SECURITY_HEADERS)
    answer = analytics.answer
    if not answer.ok:
        return JSONResponse({"error": "; ".join(answer.messages)}, status_code=answer.status, headers=SECURITY_HEADERS)
    columns = charts.columns(answer.result["minutes"], analytics.since, analytics.until)
    return JSONResponse(columns, headers=SECURITY_HEADERS)


@router.get("/zones/{zone_id}/rooms/{room_id}/edit")
async def edit_room_form(request: Request, zone_id: str, room_id: str, viewer: SignedIn) -> Response:
    """The room's settings."""
    room = await _room(request, viewer, zone_id, room_id)
    if not room.ok:
        return _missing(request, viewer, room)
    return page("room_form.html", **_room_form_context(request, viewer, room=room.result, zone=zone_id, zones=[]))


@router.post("/zones/{zone_id}/rooms/{room_id}/edit")
async def edit_room(request: Request, zone_id: str, room_id: str, post: PostedForm) -> Response:
    """Change the room's settings through the API (PATCH); its refusals are shown on the form."""
    viewer, fields = post.viewer, post.fields
    body = forms.ROOM.body(fields)
    answer = await _api(request).call(viewer.principal, "PATCH", f"/zones/{zone_id}/waiting_rooms/{room_id}", json=body)
    if answer.ok:
        return _to(f"/zones/{zone_id}/rooms/{room_id}", "saved")
    current = await _room(request, viewer, zone_id, room_id)
    room = {**(current.result or {}), **fields, "id": room_id}
    for name, kind in forms.ROOM.kinds.items():
        if kind == "bool":
            room[name] = bool(body.get(name))
    errors = forms.FormErrors.of(answer.messages, forms.ROOM.kinds)
    context = _room_form_context(request, viewer, room=room, zone=zone_id, zones=[], errors=errors)
    return page("room_form.html", answer.status, **context)


def _confirm_page(request: Request, viewer: Viewer, question: str, fields: dict[str, str]) -> Response:
    return page(
        "confirm.html",
        question=question,
        action=request.url.path,
        fields={k: v for k, v in fields.items() if k not in ("csrf", "confirmed")},
        back=request.url.path.rsplit("/", 1)[0],
        **_common(request, viewer),
    )


@router.post("/zones/{zone_id}/rooms/{room_id}/emergency")
async def emergency(request: Request, zone_id: str, room_id: str, post: PostedForm) -> Response:
    """Queue-all, suspend, or back, once confirmed."""
    viewer, fields = post.viewer, post.fields
    chosen = EMERGENCIES.get(fields.get("action", ""))
    if chosen is None:
        return page("message.html", 400, title="Unknown action", text="No such action.", **_common(request, viewer))
    body, notice, question = chosen
    if fields.get("confirmed") != "yes":
        return _confirm_page(request, viewer, question, fields)
    answer = await _api(request).call(viewer.principal, "PATCH", f"/zones/{zone_id}/waiting_rooms/{room_id}", json=body)
    if not answer.ok:
        return _refused(request, viewer, answer)
    return _to(f"/zones/{zone_id}/rooms/{room_id}", notice)


@router.post("/zones/{zone_id}/rooms/{room_id}/delete")
async def delete_room(request: Request, zone_id: str, room_id: str, post: PostedForm) -> Response:
    """Delete the room with its events and rules, once confirmed."""
    viewer, fields = post.viewer, post.fields
    if fields.get("confirmed") != "yes":
        return _confirm_page(request, viewer, "Delete this room, its events and its rules?", fields)
    answer = await _api(request).call(viewer.principal, "DELETE", f"/zones/{zone_id}/waiting_rooms/{room_id}")
    if not answer.ok:
        return _refused(request, viewer, answer)
    return _to("/rooms", "deleted")


# ---- events and rules ----------------------------------------------------------------------


_NEW_EVENT = {
    "name": "",
    "description": "",
    "prequeue_start_time": "",
    "event_start_time": "",
    "event_end_time": "",
    "total_active_users": "",
    "new_users_per_minute": "",
    "queueing_method": "",
    "shuffle_at_event_start": False,
    "suspended": False,
}


def _event_for_form(event: dict[str, Any]) -> dict[str, Any]:
    shown = {**_NEW_EVENT, **{k: v for k, v in event.items() if k in _NEW_EVENT}}
    for name in ("prequeue_start_time", "event_start_time", "event_end_time"):
        shown[name] = forms.local_time(shown[name] or None)
    for name in ("total_active_users", "new_users_per_minute", "queueing_method"):
        shown[name] = "" if shown[name] is None else shown[name]
    return shown


def _event_page(
    request: Request, viewer: Viewer, zone_id: str, room: dict[str, Any], event: dict[str, Any], **extra: Any
) -> Response:
    status = extra.pop("status", 200)
    return page(
        "event_form.html",
        status,
        zone_id=zone_id,
        room=room,
        event=event,
        methods=QUEUEING_METHODS,
        errors=extra.pop("errors", forms.FormErrors()),
        **extra,
        **_common(request, viewer),
    )


@router.get("/zones/{zone_id}/rooms/{room_id}/events/new")
async def new_event_form(request: Request, zone_id: str, room_id: str, viewer: SignedIn) -> Response:
    """The form for a new event."""
    room = await _room(request, viewer, zone_id, room_id)
    if not room.ok:
        return _missing(request, viewer, room)
    return _event_page(request, viewer, zone_id, room.result, dict(_NEW_EVENT), event_id=None)


@router.get("/zones/{zone_id}/rooms/{room_id}/events/{event_id}/edit")
async def edit_event_form(request: Request, zone_id: str, room_id: str, event_id: str, viewer: SignedIn) -> Response:
    """An event's settings."""
    api = _api(request)
    base = f"/zones/{zone_id}/waiting_rooms/{room_id}"
    room, event = await asyncio.gather(
        api.call(viewer.principal, "GET", base), api.call(viewer.principal, "GET", f"{base}/events/{event_id}")
    )
    if not room.ok or not event.ok:
        return _missing(request, viewer, room if not room.ok else event)
    return _event_page(request, viewer, zone_id, room.result, _event_for_form(event.result), event_id=event_id)


async def _save_event(request: Request, post: Posted, zone_id: str, room_id: str, event_id: str | None) -> Response:
    viewer, fields = post.viewer, post.fields
    body = forms.event_body(fields)
    base = f"/zones/{zone_id}/waiting_rooms/{room_id}"
    api = _api(request)
    if event_id is None:
        answer = await api.call(viewer.principal, "POST", f"{base}/events", json=body)
    else:
        # Overrides left empty return to the room's value.
        for name in ("total_active_users", "new_users_per_minute", "queueing_method", "prequeue_start_time"):
            body.setdefault(name, None)
        answer = await api.call(viewer.principal, "PATCH", f"{base}/events/{event_id}", json=body)
    if answer.ok:
        return _to(f"/zones/{zone_id}/rooms/{room_id}", "created" if event_id is None else "saved")
    room = await api.call(viewer.principal, "GET", base)
    if not room.ok:
        return _missing(request, viewer, room)
    shown = {**_NEW_EVENT, **fields}
    for name in ("shuffle_at_event_start", "suspended"):
        shown[name] = bool(body.get(name))
    errors = forms.FormErrors.of(answer.messages, forms.EVENT.kinds)
    return _event_page(
        request, viewer, zone_id, room.result, shown, event_id=event_id, errors=errors, status=answer.status
    )


@router.post("/zones/{zone_id}/rooms/{room_id}/events/new")
async def create_event(request: Request, zone_id: str, room_id: str, post: PostedForm) -> Response:
    """Create an event through the API."""
    return await _save_event(request, post, zone_id, room_id, None)


@router.post("/zones/{zone_id}/rooms/{room_id}/events/{event_id}/edit")
async def edit_event(request: Request, zone_id: str, room_id: str, event_id: str, post: PostedForm) -> Response:
    """Change an event through the API (PATCH)."""
    return await _save_event(request, post, zone_id, room_id, event_id)


async def _delete(request: Request, post: Posted, zone_id: str, room_id: str, path: str, question: str) -> Response:
    viewer, fields = post.viewer, post.fields
    if fields.get("confirmed") != "yes":
        return _confirm_page(request, viewer, question, fields)
    answer = await _api(request).call(viewer.principal, "DELETE", path)
    if not answer.ok:
        return _refused(request, viewer, answer)
    return _to(f"/zones/{zone_id}/rooms/{room_id}", "deleted")


@router.post("/zones/{zone_id}/rooms/{room_id}/events/{event_id}/delete")
async def delete_event(request: Request, zone_id: str, room_id: str, event_id: str, post: PostedForm) -> Response:
    """Delete an event, once confirmed."""
    path = f"/zones/{zone_id}/waiting_rooms/{room_id}/events/{event_id}"
    return await _delete(request, post, zone_id, room_id, path, "Delete this event?")


@router.get("/zones/{zone_id}/rooms/{room_id}/rules/new")
async def new_rule_form(request: Request, zone_id: str, room_id: str, viewer: SignedIn) -> Response:
    """The form for a new bypass rule."""
    room = await _room(request, viewer, zone_id, room_id)
    if not room.ok:
        return _missing(request, viewer, room)
    rule = {"expression": "", "description": "", "enabled": True}
    return page(
        "rule_form.html",
        zone_id=zone_id,
        room=room.result,
        rule=rule,
        errors=forms.FormErrors(),
        **_common(request, viewer),
    )


@router.post("/zones/{zone_id}/rooms/{room_id}/rules/new")
async def create_rule(request: Request, zone_id: str, room_id: str, post: PostedForm) -> Response:
    """Add a bypass rule through the API (it goes last)."""
    viewer, fields = post.viewer, post.fields
    body = forms.rule_body(fields)
    api = _api(request)
    base = f"/zones/{zone_id}/waiting_rooms/{room_id}"
    answer = await api.call(viewer.principal, "POST", f"{base}/rules", json=body)
    if answer.ok:
        return _to(f"/zones/{zone_id}/rooms/{room_id}", "created")
    room = await api.call(viewer.principal, "GET", base)
    if not room.ok:
        return _missing(request, viewer, room)
    errors = forms.FormErrors.of(answer.messages, forms.RULE.kinds)
    rule = {**fields, "enabled": bool(body.get("enabled"))}
    return page(
        "rule_form.html",
        answer.status,
        zone_id=zone_id,
        room=room.result,
        rule=rule,
        errors=errors,
        **_common(request, viewer),
    )


@router.post("/zones/{zone_id}/rooms/{room_id}/rules/{rule_id}/toggle")
async def toggle_rule(request: Request, zone_id: str, room_id: str, rule_id: str, post: PostedForm) -> Response:
    """Turn a rule on or off."""
    viewer, fields = post.viewer, post.fields
    enabled = fields.get("enabled") == "true"
    answer = await _api(request).call(
        viewer.principal,
        "PATCH",
        f"/zones/{zone_id}/waiting_rooms/{room_id}/rules/{rule_id}",
        json={"enabled": enabled},
    )
    if not answer.ok:
        return _refused(request, viewer, answer)
    return _to(f"/zones/{zone_id}/rooms/{room_id}", "saved")


@router.post("/zones/{zone_id}/rooms/{room_id}/rules/{rule_id}/delete")
async def delete_rule(request: Request, zone_id: str, room_id: str, rule_id: str, post: PostedForm) -> Response:
    """Delete a rule, once confirmed."""
    path = f"/zones/{zone_id}/waiting_rooms/{room_id}/rules/{rule_id}"
    return await _delete(request, post, zone_id, room_id, path, "Delete this rule?")


# ---- template preview ----------------------------------------------------------------------


@router.get("/zones/{zone_id}/rooms/{room_id}/preview")
async def preview_form(request: Request, zone_id: str, room_id: str, viewer: SignedIn) -> Response:
    """The room's template, ready to preview or change."""
    room = await _room(request, viewer, zone_id, room_id)
    if not room.ok:
        return _missing(request, viewer, room)
    return page(
        "preview.html",
        zone_id=zone_id,
        room=room.result,
        template=room.result["custom_page_html"],
        preview_url=None,
        states=PREVIEW_STATES,
        errors=[],
        **_common(request, viewer),
    )


@router.post("/zones/{zone_id}/rooms/{room_id}/preview")
async def preview(request: Request, zone_id: str, room_id: str, post: PostedForm) -> Response:
    """Upload the template for a preview (the API's preview endpoint) and show it in a frame."""
    viewer, fields = post.viewer, post.fields
    template = fields.get("custom_page_html", "")
    api = _api(request)
    room, answer = await asyncio.gather(
        _room(request, viewer, zone_id, room_id),
        api.call(viewer.principal, "POST", f"/zones/{zone_id}/waiting_rooms/preview", json={"custom_html": template}),
    )
    if not room.ok:
        return _missing(request, viewer, room)
    preview_url = None
    if answer.ok:
        # The API answers with its own base URL (here the in-process one): the page is on this origin.
        preview_url = urlsplit(answer.result["preview_url"]).path
    return page(
        "preview.html",
        answer.status,
        zone_id=zone_id,
        room=room.result,
        template=template,
        preview_url=preview_url,
        states=PREVIEW_STATES,
        errors=answer.messages if not answer.ok else [],
        **_common(request, viewer),
    )
