"""Wait-time estimates and their English wording.

FIFO: users ahead divided by the expected outflow, plus the time before the
sessions that fill the room can end. The outflow is the smaller of
``new_users_per_minute`` and the rate at which the room's sessions end (the
turnover), which is measured from admissions while people were waiting, with
the configured limits as the prior for the seconds that measured nothing.
Random: percentiles of the number of lottery draws until a win, from the
per-draw odds.
"""

from __future__ import annotations

import math

from antechamber.core.counters import RoomSnapshot
from antechamber.core.types import (
    BUCKET_MS,
    CAP_WINDOW_S,
    FIRST_EXIT_MIN_MS,
    MINUTE_MS,
    OUTFLOW_RECENT_WEIGHT,
    OUTFLOW_WINDOW_S,
    REFRESH_INTERVAL_MS,
    RoomConfig,
)

#: On average a user eligible for a slot only learns it at the next refresh.
_POLL_LAG_MS = REFRESH_INTERVAL_MS // 2


def prior_outflow_per_minute(config: RoomConfig) -> float:
    """What the limits allow per minute if every session lasts its full duration."""
    by_sessions = config.total_active_users / (config.session_duration or 1)
    rate = config.new_users_per_minute if config.new_users_per_minute < by_sessions else by_sessions
    return rate if rate > 1.0 else 1.0


def turnover_per_minute(config: RoomConfig, snapshot: RoomSnapshot) -> float:
    """How many sessions end per minute in a full room: the most the active-users limit lets in.

    Measured: the admissions made while people were waiting, over the seconds
    they were waiting in the last five minutes, with the last minute weighing
    ``OUTFLOW_RECENT_WEIGHT`` so that a change shows within a minute or two
    without every refresh wave swinging it. A room below
    ``total_active_users`` would turn over proportionally more often with the
    same visits (Little's law), so the measurement is scaled up to a full room.
    The seconds that measured nothing count at the prior
    ``total_active_users / session_duration`` (a visit lasting one session).
    Before anyone has been let in from the queue the prior stands alone: those
    seconds say when the first sessions end (see :func:`first_exit_ms`), not how
    often sessions end.
    """
    prior = config.total_active_users / (config.session_duration or 1)
    open_s = min(OUTFLOW_WINDOW_S, snapshot.open_seconds)
    if not snapshot.admitted_open or not open_s:
        return prior
    measured = snapshot.admitted_open * 60 / open_s
    if open_s >= 60:
        recent = snapshot.admitted_last_minute * 60 / CAP_WINDOW_S  # it spans the cap's 61 s
        measured = (1 - OUTFLOW_RECENT_WEIGHT) * measured + OUTFLOW_RECENT_WEIGHT * recent
    if snapshot.active < config.total_active_users:
        measured *= config.total_active_users / max(1, snapshot.active)
    return (measured * open_s + prior * (OUTFLOW_WINDOW_S - open_s)) / OUTFLOW_WINDOW_S


def outflow_per_minute(config: RoomConfig, snapshot: RoomSnapshot) -> float:
    """Admissions per minute expected while people wait: the smaller of the two limits' rates.

    ``new_users_per_minute`` is what the paced budget lets in whenever the
    queue can take it; the turnover (:func:`turnover_per_minute`) is what the
    active-users limit lets in. A queue that just formed is thus estimated from
    the limits, and one that has been draining for a while from what happened.
    """
    rate = min(float(config.new_users_per_minute), turnover_per_minute(config, snapshot))
    # A room that admitted nobody for the whole window still has some outflow
    # eventually (sessions expire); a floor keeps the estimate finite.
    floor = prior_outflow_per_minute(config) / 100
    return rate if rate > floor else floor


def first_exit_ms(config: RoomConfig, snapshot: RoomSnapshot) -> int:
    """How long until a full room's next session ends and the line can move (0 once it can).

    Nobody goes in from the queue before a slot frees up, and a session lasts
    at least until its expiry second, however often its visitor comes back.
    A room that filled before its queue formed thus waits out its first
    sessions (their ``session_duration``). Exits less than
    ``FIRST_EXIT_MIN_MS`` apart are the ordinary spacing of a room turning
    over, which its outflow accounts for: 0.
    """
    if snapshot.active < config.total_active_users or not snapshot.next_expiry_s:
        return 0
    gap = snapshot.next_expiry_s * BUCKET_MS - snapshot.now_ms
    return gap if gap > FIRST_EXIT_MIN_MS else 0


def fifo_wait_ms(ahead: int, rate_per_minute: float, first_exit: int = 0) -> int:
    """Expected wait of a FIFO user with ``ahead`` live users in front, the line moving after ``first_exit`` ms."""
    return first_exit + int(ahead / rate_per_minute * MINUTE_MS) + _POLL_LAG_MS


def random_wait_percentiles_ms(waiting: int, rate_per_minute: float, first_exit: int = 0) -> tuple[int, int, int]:
    """25th, 50th and 75th percentile waits of a random-queue user.

    Each counted refresh is one draw with odds p = admissions per refresh
    interval / users waiting; the chance of a win within n draws is
    1 - (1 - p)^n, so the q-th percentile is ceil(ln(1 - q) / ln(1 - p)) draws.
    No draw is won in the ``first_exit`` ms before the room's sessions can end.
    """
    per_draw = rate_per_minute * REFRESH_INTERVAL_MS / MINUTE_MS / max(1, waiting)
    if per_draw >= 1.0:
        return (first_exit + REFRESH_INTERVAL_MS,) * 3
    log_miss = math.log1p(-per_draw)
    out = []
    for q in (0.25, 0.5, 0.75):
        draws = max(1, math.ceil(math.log1p(-q) / log_miss))
        out.append(first_exit + draws * REFRESH_INTERVAL_MS)
    return (out[0], out[1], out[2])


def to_minutes(ms: int) -> int:
    """Whole minutes for display: rounded, and at least 1 for any wait."""
    if ms <= 0:
        return 0
    return max(1, (ms + MINUTE_MS // 2) // MINUTE_MS)


def to_minutes_within(ms: int) -> int:
    """Whole minutes a percentile wait fits within: rounded up, and at least 1.

    A percentile says "this share of visitors is in within that time", so
    rounding down would make the statement false for the ones just above it.
    """
    if ms <= 0:
        return 0
    return max(1, -(-ms // MINUTE_MS))


def format_wait(minutes: int) -> str:
    """Cloudflare's ``waitTimeFormatted`` wording (English only, like Cloudflare)."""
    if minutes < 60:
        return "1 minute" if minutes <= 1 else f"{minutes} minutes"
    if minutes < 120:
        return "More than 1 hour"
    if minutes <= 24 * 60:
        return f"More than {minutes // 60} hours"
    return "More than a day"


def format_wait_range(low_minutes: int, high_minutes: int) -> str:
    """A random queue's range, 25th to 75th percentile ("5 minutes to 15 minutes")."""
    low, high = format_wait(low_minutes), format_wait(high_minutes)
    if low == high:
        return low
    return f"{low} to {high[0].lower()}{high[1:]}" if high.startswith("More") else f"{low} to {high}"


def format_duration(minutes: int) -> str:
    """An event countdown ("45 minutes", "2 hours 5 minutes")."""
    hours, mins = divmod(max(0, minutes), 60)
    parts = []
    if hours:
        parts.append("1 hour" if hours == 1 else f"{hours} hours")
    if mins or not hours:
        parts.append("1 minute" if mins == 1 else f"{mins} minutes")
    return " ".join(parts)
