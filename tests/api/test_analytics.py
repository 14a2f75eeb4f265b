"""The analytics endpoints: every node's rows merged per minute, JSON and CSV, ranges, events, retention."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from antechamber.core.analytics import MINUTE_MS, MinuteFigures, MinuteRow
from antechamber.core.counters import Deltas
from antechamber.core.types import BUCKET_MS, REFRESH_BUCKET_MS
from antechamber.db import analytics
from antechamber.gateway.analytics import AnalyticsRecorder, AnalyticsWriter
from antechamber.gateway.follower import ConfigFollower
from antechamber.state.memory import MemoryState
from tests.api.support import T0, Api, assert_rejected, iso

T0_MS = int(T0.timestamp() * 1000)
M0 = T0_MS // MINUTE_MS


def _figures(admitted: int, queued: int, waits: list[int]) -> MinuteFigures:
    figures = MinuteFigures(admitted=admitted, rejected=1)
    figures.sample(active=admitted, queued=queued, active_limit=300, new_users_limit=200)
    for wait in waits:
        figures.add_wait(wait)
    return figures


async def _save(api: Api, node: str, rows: list[MinuteRow]) -> None:
    async with api.db.begin() as connection:
        await analytics.save(connection, node, rows)


async def test_each_minute_merges_every_node(api: Api) -> None:
    """Two nodes' rows for one minute read as one: admissions added, the queue's peak the larger."""
    room = await api.create_room()
    await _save(api, "node-a", [(room["id"], M0 - 2, _figures(3, 40, [0, 30_000, 30_000]))])
    await _save(api, "node-b", [(room["id"], M0 - 2, _figures(2, 38, [60_000, 60_000]))])
    await _save(api, "node-a", [(room["id"], M0 - 1, _figures(1, 10, [90_000]))])
    response = await api.client.get(api.room_url(room["id"], "/analytics"))
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    first, second = result["minutes"]
    assert datetime.fromisoformat(first["minute"]) == T0 - timedelta(minutes=2)
    assert (first["new_users"], first["queued_users_max"], first["rejected_requests"]) == (5, 40, 2)
    assert abs(first["wait_p50_seconds"] - 30) <= 30 * 0.045
    assert second["new_users"] == 1
    summary = result["summary"]
    assert (summary["new_users"], summary["peak_queued_users"], summary["minutes_with_data"]) == (6, 40, 2)
    assert abs(summary["longest_wait_seconds"] - 90) <= 90 * 0.045


async def test_a_row_written_again_replaces_the_last(api: Api) -> None:
    """A node rewrites its minute as it grows (or after a failed write): nothing counts twice."""
    room = await api.create_room()
    await _save(api, "node-a", [(room["id"], M0 - 1, _figures(3, 0, []))])
    await _save(api, "node-a", [(room["id"], M0 - 1, _figures(4, 0, []))])
    result = (await api.client.get(api.room_url(room["id"], "/analytics"))).json()["result"]
    assert result["summary"]["new_users"] == 4


async def test_the_range_filters_the_minutes(api: Api) -> None:
    """since and until pick the minutes; the default is the last hour."""
    room = await api.create_room()
    rows = [(room["id"], M0 - back, _figures(1, 0, [])) for back in (1, 30, 90)]
    await _save(api, "node-a", rows)
    hour = (await api.client.get(api.room_url(room["id"], "/analytics"))).json()["result"]
    assert hour["summary"]["new_users"] == 2
    since = iso(T0 - timedelta(hours=2))
    until = iso(T0 - timedelta(minutes=10))
    picked = await api.client.get(api.room_url(room["id"], "/analytics"), params={"since": since, "until": until})
    minutes = [datetime.fromisoformat(m["minute"]) for m in picked.json()["result"]["minutes"]]
    assert minutes == [T0 - timedelta(minutes=90), T0 - timedelta(minutes=30)]


async def test_csv_has_a_header_and_a_line_per_minute(api: Api) -> None:
    """format=csv answers the minutes as CSV, to open in a spreadsheet."""
    room = await api.create_room()
    await _save(api, "node-a", [(room["id"], M0 - 1, _figures(7, 12, [5_000]))])
    response = await api.client.get(api.room_url(room["id"], "/analytics"), params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    (line,) = list(csv.DictReader(io.StringIO(response.text)))
    assert (line["new_users"], line["queued_users_max"], line["active_users_limit"]) == ("7", "12", "300")


async def test_bad_ranges_are_refused(api: Api) -> None:
    """A malformed time, a time without a zone, a reversed or over-long range: 400 in the envelope."""
    room = await api.create_room()
    url = api.room_url(room["id"], "/analytics")
    cases = [
        ("?since=yesterday", "RFC 3339"),
        ("?since=2026-06-01T10:00:00", "time zone"),
        ("?since=0001-01-01T00:00:00%2B00:01", "out of range"),
        (f"?since={iso(T0)}&until={iso(T0 - timedelta(hours=1))}", "before until"),
        (f"?since={iso(T0 - timedelta(days=40))}", "at most 31 days"),
        ("?format=xml", "format"),
    ]
    for query, words in cases:
        await assert_rejected(api, "GET", url + query.replace("+", "%2B"), None, 400, 1002, words)


async def test_unknown_rooms_and_events_are_404(api: Api) -> None:
    """The analytics of a room or event that does not exist: 404 in the envelope."""
    room = await api.create_room()
    await assert_rejected(api, "GET", api.room_url("0" * 32, "/analytics"), None, 404, 1005, "")
    await assert_rejected(api, "GET", api.room_url(room["id"], f"/events/{'0' * 32}/analytics"), None, 404, 1005, "")


async def test_an_event_is_summarised_from_its_prequeue_to_its_end(api: Api) -> None:
    """An event's summary covers its prequeue and its run, and nothing outside them."""
    room = await api.create_room()
    event = await api.create_event(room["id"], prequeue_start_time=iso(T0 + timedelta(hours=23, minutes=30)))
    start = (T0_MS + 23 * 3_600_000) // MINUTE_MS
    rows = [
        (room["id"], start, _figures(50, 0, [])),  # before the prequeue
        (room["id"], start + 45, _figures(4, 900, [120_000])),  # prequeue
        (room["id"], start + 70, _figures(200, 650, [600_000])),  # the event
        (room["id"], start + 150, _figures(9, 0, [])),  # after it
    ]
    await _save(api, "node-a", rows)
    response = await api.client.get(api.room_url(room["id"], f"/events/{event['id']}/analytics"))
    assert response.status_code == 200, response.text
    summary = response.json()["result"]
    assert (summary["new_users"], summary["peak_queued_users"], summary["rejected_requests"]) == (204, 900, 2)
    assert abs(summary["longest_wait_seconds"] - 600) <= 600 * 0.045


async def test_prune_drops_minutes_past_the_retention(api: Api) -> None:
    """Minutes older than the retention go; newer ones stay."""
    room = await api.create_room()
    await _save(
        api, "node-a", [(room["id"], M0 - 31 * 1440, _figures(1, 0, [])), (room["id"], M0 - 1, _figures(1, 0, []))]
    )
    async with api.db.begin() as connection:
        await analytics.prune(connection, T0_MS - 30 * 86_400_000)
    async with api.db.connect() as connection:
        kept = await analytics.minutes(connection, room["id"], T0_MS - 40 * 86_400_000, T0_MS)
    assert [minute for minute, _ in kept] == [M0 - 1]


async def test_the_writer_samples_the_rooms_and_writes_what_the_gateway_counted(api: Api) -> None:
    """A process's counted admissions and its samples of the room reach the store as that minute's row."""
    room = await api.create_room(total_active_users=300)
    follower = ConfigFollower(api.db, listen=False)
    await follower.refresh()
    state = MemoryState()
    now = T0_MS + 5_000
    state.apply(
        room["id"],
        Deltas(active=((now // BUCKET_MS + 300, 7),), waiting=((now // BUCKET_MS, now // REFRESH_BUCKET_MS, 5),)),
        now,
    )
    recorder = AnalyticsRecorder()
    recorder.revoked(room["id"], now)
    writer = AnalyticsWriter(recorder, api.db, follower, state, clock=lambda: now, node="node-a")
    await writer.write()
    async with api.db.connect() as connection:
        ((minute, figures),) = await analytics.minutes(connection, room["id"], T0_MS, T0_MS + MINUTE_MS)
    assert minute == M0
    assert (figures.active_max, figures.queued_max, figures.active_limit, figures.revoked) == (7, 5, 300, 1)


async def test_a_minute_its_samples_missed_still_shows_the_limits_in_force(api: Api) -> None:
    """Admissions in a minute's last seconds, sampled only in the next minute, still carry that minute's limits."""
    room = await api.create_room(total_active_users=300, new_users_per_minute=200)
    follower = ConfigFollower(api.db, listen=False)
    await follower.refresh()
    state = MemoryState()  # the room looks empty at every sample
    recorder = AnalyticsRecorder()
    now = T0_MS + 40_000
    writer = AnalyticsWriter(recorder, api.db, follower, state, clock=lambda: now, node="node-a")
    await writer.write()  # a sample early in the minute, before anything happened
    recorder.revoked(room["id"], T0_MS + 59_000)
    now = T0_MS + MINUTE_MS + 2_000
    await writer.write()
    async with api.db.connect() as connection:
        ((minute, figures),) = await analytics.minutes(connection, room["id"], T0_MS, T0_MS + MINUTE_MS)
    assert minute == M0
    assert (figures.revoked, figures.active_limit, figures.new_users_limit) == (1, 300, 200)
