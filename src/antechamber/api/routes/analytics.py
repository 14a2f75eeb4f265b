"""A room's per-minute analytics (JSON or CSV), and an event's summary.

Antechamber's own endpoints (Cloudflare has these figures in GraphQL only), in the
same envelope and with the same tokens as the rest of the API. Each minute merges
the rows every gateway process wrote (:mod:`antechamber.db.analytics`).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from antechamber.api.auth import AuthorizedZone
from antechamber.api.context import ClockDep, DatabaseDep
from antechamber.api.envelope import ERROR_RESPONSES, Envelope
from antechamber.api.errors import invalid
from antechamber.api.models.analytics import AnalyticsMinute, AnalyticsSummary, RoomAnalytics
from antechamber.api.routes.events import load_event
from antechamber.api.routes.rooms import load_room
from antechamber.api.schedule import EventWindow
from antechamber.core.analytics import MINUTE_MS, MinuteFigures, percentile_ms, summarise
from antechamber.db import analytics
from antechamber.db.ids import parse_timestamp

router = APIRouter(tags=["analytics"], responses=ERROR_RESPONSES)

ROOM_PATH = "/zones/{zone_id}/waiting_rooms/{waiting_room_id}/analytics"
#: Without ``since``, the last hour.
DEFAULT_RANGE = timedelta(hours=1)
#: The longest range one request may ask for (the default retention, and a day to spare).
MAX_RANGE = timedelta(days=31)
CSV_COLUMNS = list(AnalyticsMinute.model_fields)

Moment = Annotated[str | None, Query(description="RFC 3339 time, e.g. 2026-12-07T10:00:00Z.")]


def _moment(name: str, text: str | None, default: datetime) -> datetime:
    if text is None:
        return default
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise invalid(f"{name} must be an RFC 3339 time such as 2026-12-07T10:00:00Z, not {text!r}") from None
    if moment.tzinfo is None:
        raise invalid(f"{name} must give its time zone (Z for UTC), not {text!r}")
    try:
        return parse_timestamp(text)
    except ValueError:
        raise invalid(f"{name} is out of range: {text!r}") from None


def _seconds(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def minute_result(minute: int, figures: MinuteFigures) -> AnalyticsMinute:
    """One merged minute in the API's shape."""
    return AnalyticsMinute(
        minute=datetime.fromtimestamp(minute * MINUTE_MS / 1000, UTC),
        active_users_max=figures.active_max,
        active_users_limit=figures.active_limit,
        queued_users_max=figures.queued_max,
        new_users=figures.admitted,
        new_users_limit=figures.new_users_limit,
        wait_p50_seconds=_seconds(percentile_ms(figures.waits, 50)),
        wait_p90_seconds=_seconds(percentile_ms(figures.waits, 90)),
        wait_p99_seconds=_seconds(percentile_ms(figures.waits, 99)),
        rejected_requests=figures.rejected,
        bypassed_requests=figures.bypassed,
        sessions_revoked=figures.revoked,
        challenges_issued=figures.challenges_issued,
        challenges_passed=figures.challenges_passed,
        challenges_failed=figures.challenges_failed,
        session_renewals=figures.renewals,
        time_on_origin_seconds=figures.origin_ms / 1000,
        longest_time_on_origin_seconds=_seconds(figures.origin_longest_ms) if figures.renewals else None,
    )


def summary_result(since: datetime, until: datetime, rows: list[tuple[int, MinuteFigures]]) -> AnalyticsSummary:
    """The range's totals, peaks and waits."""
    brief = summarise(figures for _, figures in rows)
    return AnalyticsSummary(
        since=since,
        until=until,
        minutes_with_data=brief.minutes,
        new_users=brief.admitted,
        rejected_requests=brief.rejected,
        bypassed_requests=brief.bypassed,
        sessions_revoked=brief.revoked,
        peak_active_users=brief.peak_active,
        peak_queued_users=brief.peak_queued,
        wait_p50_seconds=_seconds(brief.wait_p50_ms),
        wait_p90_seconds=_seconds(brief.wait_p90_ms),
        wait_p99_seconds=_seconds(brief.wait_p99_ms),
        longest_wait_seconds=_seconds(brief.longest_wait_ms),
        session_renewals=brief.renewals,
        time_on_origin_seconds=brief.time_on_origin_ms / 1000,
        time_on_origin_avg_seconds=_seconds(brief.time_on_origin_avg_ms),
        longest_time_on_origin_seconds=_seconds(brief.longest_time_on_origin_ms),
    )


def _csv(minutes: list[AnalyticsMinute]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for minute in minutes:
        row = minute.model_dump(mode="json")
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return out.getvalue()


@router.get(ROOM_PATH, response_model=Envelope[RoomAnalytics])
async def get_room_analytics(
    zone: AuthorizedZone,
    waiting_room_id: str,
    db: DatabaseDep,
    clock: ClockDep,
    since: Moment = None,
    until: Moment = None,
    format: Annotated[Literal["json", "csv"], Query(description="json (the envelope) or csv (the minutes)")] = "json",
) -> Envelope[RoomAnalytics] | Response:
    """A room's minutes from ``since`` (default: an hour before ``until``) to ``until`` (default: now)."""
    end = _moment("until", until, clock())
    start = _moment("since", since, end - DEFAULT_RANGE)
    if start >= end:
        raise invalid("since must be before until")
    if end - start > MAX_RANGE:
        raise invalid(f"a range may span at most {MAX_RANGE.days} days")
    async with db.connect() as connection:
        room = await load_room(connection, zone, waiting_room_id)
        rows = await analytics.minutes(connection, room.id, _ms(start), _ms(end))
    minutes = [minute_result(minute, figures) for minute, figures in rows]
    if format == "csv":
        filename = f"antechamber-{room.id}-{start:%Y%m%dT%H%M}.csv"
        return Response(
            _csv(minutes),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{filename}"'},
        )
    summary = summary_result(start, end, rows)
    return Envelope(result=RoomAnalytics(waiting_room_id=room.id, summary=summary, minutes=minutes))


@router.get(
    "/zones/{zone_id}/waiting_rooms/{waiting_room_id}/events/{event_id}/analytics",
    response_model=Envelope[AnalyticsSummary],
)
async def get_event_analytics(
    zone: AuthorizedZone, waiting_room_id: str, event_id: str, db: DatabaseDep
) -> Envelope[AnalyticsSummary]:
    """An event in brief, from its prequeue (or its start) to its end: peaks, admitted, rejected, waits."""
    async with db.connect() as connection:
        room = await load_room(connection, zone, waiting_room_id)
        event = await load_event(connection, room.id, event_id)
        window = EventWindow.of(event.id, event.body)
        rows = await analytics.minutes(connection, room.id, _ms(window.opens), _ms(window.end))
    return Envelope(result=summary_result(window.opens, window.end, rows))
