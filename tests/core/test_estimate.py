"""Wait estimates, their wording, and the full queue."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from antechamber.core.counters import RoomSnapshot
from antechamber.core.estimate import (
    fifo_wait_ms,
    first_exit_ms,
    format_duration,
    format_wait,
    format_wait_range,
    outflow_per_minute,
    prior_outflow_per_minute,
    random_wait_percentiles_ms,
    to_minutes_within,
    turnover_per_minute,
)
from antechamber.core.types import OUTFLOW_RECENT_WEIGHT, OUTFLOW_WINDOW_S, Outcome
from tests.core.harness import MINUTE, SECOND, T0, Room, room_config


def test_prior_outflow_is_the_tighter_of_the_two_limits() -> None:
    """Without history the outflow is min(new_users_per_minute, total_active_users / session_duration)."""
    assert prior_outflow_per_minute(room_config(total_active_users=1000, new_users_per_minute=500)) == 200
    assert prior_outflow_per_minute(room_config(total_active_users=10_000, new_users_per_minute=500)) == 500


def test_measured_outflow_replaces_the_prior_as_history_builds() -> None:
    """In a full room the seconds when people waited measure the outflow; the rest of the window keeps the prior."""
    cfg = room_config(total_active_users=1000, new_users_per_minute=500)  # prior 200/min
    assert outflow_per_minute(cfg, RoomSnapshot()) == 200
    # 60 per minute measured, over the whole window and in the last minute alike (the cap's 61 s hold 61)
    full = RoomSnapshot(active=1000, open_seconds=OUTFLOW_WINDOW_S, admitted_open=300, admitted_last_minute=61)
    assert outflow_per_minute(cfg, full) == pytest.approx(60)
    half = RoomSnapshot(active=1000, open_seconds=OUTFLOW_WINDOW_S // 2, admitted_open=150, admitted_last_minute=61)
    assert outflow_per_minute(cfg, half) == pytest.approx((60 + 200) / 2)


def test_the_last_minute_weighs_a_quarter_of_the_measured_outflow() -> None:
    """The measured turnover leans towards the last minute's admissions by OUTFLOW_RECENT_WEIGHT."""
    cfg = room_config(total_active_users=1000, new_users_per_minute=5000)
    # 300 a minute recently: the last minute's count spans the minute cap's 61 whole seconds.
    snap = RoomSnapshot(active=1000, open_seconds=OUTFLOW_WINDOW_S, admitted_open=500, admitted_last_minute=305)
    expected = (1 - OUTFLOW_RECENT_WEIGHT) * 100 + OUTFLOW_RECENT_WEIGHT * 300
    assert turnover_per_minute(cfg, snap) == pytest.approx(expected)
    assert OUTFLOW_RECENT_WEIGHT == 0.25


def test_new_users_per_minute_binds_while_the_room_has_space() -> None:
    """Below total_active_users the budget sets the outflow, even if fewer were measured while the queue formed."""
    cfg = room_config(total_active_users=10_000, new_users_per_minute=500)
    snap = RoomSnapshot(active=4000, open_seconds=120, admitted_open=800, admitted_last_minute=420)
    # 400 a minute measured with 4,000 inside: a full room would turn over 2.5 times as often.
    assert turnover_per_minute(cfg, snap) > 500
    assert outflow_per_minute(cfg, snap) == 500


def test_a_full_room_is_estimated_from_its_turnover() -> None:
    """At total_active_users the outflow is the measured turnover, however large new_users_per_minute is."""
    cfg = room_config(total_active_users=1000, new_users_per_minute=5000, session_duration=3)
    snap = RoomSnapshot(active=1000, open_seconds=OUTFLOW_WINDOW_S, admitted_open=1200, admitted_last_minute=244)
    assert outflow_per_minute(cfg, snap) == pytest.approx(240)


def test_first_exit_waits_for_the_sessions_that_filled_the_room() -> None:
    """A full room frees nothing before its earliest session ends, however many were let in from a queue."""
    cfg = room_config(total_active_users=1000, new_users_per_minute=5000, session_duration=3)
    now = T0 + 40 * SECOND
    filled = RoomSnapshot(now_ms=now, active=1000, admitted_open=8, next_expiry_s=(now + 2 * MINUTE) // SECOND)
    assert first_exit_ms(cfg, filled) == 2 * MINUTE
    # Not once the room has space, its sessions are ending, or none is known.
    assert first_exit_ms(cfg, replace(filled, active=999)) == 0
    assert first_exit_ms(cfg, replace(filled, next_expiry_s=now // SECOND)) == 0
    assert first_exit_ms(cfg, replace(filled, next_expiry_s=0)) == 0
    assert fifo_wait_ms(100, 200.0, 5_000) == fifo_wait_ms(100, 200.0) + 5_000


def test_fifo_wait_is_users_ahead_over_outflow_plus_half_a_refresh() -> None:
    """FIFO: 600 ahead at 200 per minute is three minutes, plus the 10 s average wait for the next refresh."""
    assert fifo_wait_ms(600, 200.0) == 3 * MINUTE + 10 * SECOND


def test_random_percentiles_follow_the_geometric_distribution() -> None:
    """Random: with odds p per 20 s draw the q-th percentile is ceil(ln(1-q)/ln(1-p)) draws."""
    # 60 per minute = 20 per draw among 400 waiting: p = 0.05.
    p25, p50, p75 = random_wait_percentiles_ms(400, 60.0)
    for q, got in ((0.25, p25), (0.5, p50), (0.75, p75)):
        assert got == math.ceil(math.log(1 - q) / math.log(0.95)) * 20 * SECOND
    assert random_wait_percentiles_ms(5, 60.0) == (20 * SECOND,) * 3
    # No draw is won before the sessions that fill the room can end.
    assert random_wait_percentiles_ms(400, 60.0, MINUTE) == (p25 + MINUTE, p50 + MINUTE, p75 + MINUTE)


def test_percentiles_are_shown_in_minutes_rounded_up() -> None:
    """A percentile is a "within" statement, so its whole minutes round up: 2 min 1 s shows as 3."""
    assert [to_minutes_within(ms) for ms in (0, 1, MINUTE, MINUTE + 1, 2 * MINUTE + SECOND)] == [0, 1, 1, 2, 3]


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (1, "1 minute"),
        (2, "2 minutes"),
        (59, "59 minutes"),
        (60, "More than 1 hour"),
        (119, "More than 1 hour"),
        (120, "More than 2 hours"),
        (1440, "More than 24 hours"),
        (1441, "More than a day"),
    ],
)
def test_wait_wording(minutes: int, text: str) -> None:
    """waitTimeFormatted follows Cloudflare's English wording by range."""
    assert format_wait(minutes) == text


def test_range_and_duration_wording() -> None:
    """A random queue shows "p25 to p75"; event countdowns show hours and minutes."""
    assert format_wait_range(5, 15) == "5 minutes to 15 minutes"
    assert format_wait_range(30, 90) == "30 minutes to more than 1 hour"
    assert format_wait_range(3, 3) == "3 minutes"
    assert format_duration(45) == "45 minutes"
    assert format_duration(60) == "1 hour"
    assert format_duration(125) == "2 hours 5 minutes"


def test_same_second_crowd_counts_half_ahead() -> None:
    """Order inside one second is not kept, so half of the same-second crowd is estimated as ahead."""
    room = Room(room_config(total_active_users=100_000, new_users_per_minute=200))  # the budget binds: 200/min
    visitors = room.arrive(601)  # 101 in (the paced burst), 500 queued in the same second
    room.advance(SECOND)
    room.refresh_all(visitors)  # nobody is due yet: early refreshes show the estimate
    info = visitors[-1].last.info if visitors[-1].last else None
    # 249 of the 499 others count as ahead: 249 at 200/min, plus 10 s for the next refresh.
    assert info is not None and info.estimated_wait_ms == pytest.approx(249 / 200 * MINUTE + 10 * SECOND, rel=0.01)


def test_queued_user_sees_a_fifo_estimate_from_the_prior() -> None:
    """Behind a room that just filled, the limits estimate: its sessions end 5 min on, then 400 go at 40/min."""
    room = Room(room_config(total_active_users=200, new_users_per_minute=1000))  # prior 40/min
    room.arrive(600)  # 200 in at once (the first sessions end 5 min on), 400 queued
    room.advance(SECOND)
    (v,) = room.arrive()
    info = v.last.info if v.last else None
    assert info is not None and info.wait_time_known and info.wait_time == 15
    assert info.estimated_wait_ms == 5 * MINUTE - SECOND + 10 * MINUTE + 10 * SECOND
    assert info.wait_time_formatted == "15 minutes"
    assert info.wait_time_25_percentile == info.wait_time_50_percentile == info.wait_time_75_percentile == 0


def test_queued_user_in_a_random_queue_sees_percentiles() -> None:
    """A random queue shows the three percentiles, waitTime = the median, and a range."""
    room = Room(room_config(total_active_users=200, new_users_per_minute=1000, queueing_method="random"))
    room.arrive(600)
    (v,) = room.arrive()
    info = v.last.info if v.last else None
    assert info is not None and info.wait_time_known
    assert 0 < info.wait_time_25_percentile <= info.wait_time_50_percentile <= info.wait_time_75_percentile
    assert info.wait_time == info.wait_time_50_percentile and " to " in info.wait_time_formatted


def test_queue_is_full_past_a_day_and_newcomers_get_no_place() -> None:
    """Past 24 hours of estimated wait the queue is full: newcomers are told so and not counted yet."""
    room = Room(room_config(total_active_users=200, new_users_per_minute=200, session_duration=30))
    # Prior outflow 200/30 ≈ 6.7 per minute: 24 hours is about 9,600 waiting.
    room.arrive(10_200)
    before = room.snapshot().waiting
    assert 9_000 < before < 10_099
    (v,) = room.arrive()
    d = v.last
    assert d is not None and d.outcome is Outcome.QUEUE and d.reason == "full"
    assert d.info is not None and d.info.queue_is_full and not d.info.wait_time_known
    assert room.snapshot().waiting == before
    assert v.ticket is not None and not v.ticket.placed


def test_full_queue_gives_the_place_once_the_estimate_drops() -> None:
    """A newcomer turned away by a full queue keeps its arrival time and gets its place when it is no longer full."""
    room = Room(room_config(total_active_users=200, new_users_per_minute=200, session_duration=30))
    room.arrive(10_200)
    (v,) = room.arrive()
    assert v.ticket is not None
    arrival = v.ticket.arrival_ms
    for _ in range(18):  # the crowd stopped refreshing and is dropped after the 5-minute hold; v keeps on
        room.advance(20 * SECOND)
        d = room.visit(v)
        if d.reason != "full":
            break
    assert d.reason == "admitted" or (d.reason == "queued" and v.ticket.placed)
    assert v.ticket.arrival_ms == arrival
