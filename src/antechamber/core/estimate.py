"""Wait-time estimates and their English wording.

FIFO: users ahead divided by the measured outflow (admissions per minute while
people were waiting), with the configured limits as the prior for the seconds
that measured nothing. Random: percentiles of the number of lottery draws
until a win, from the per-draw odds.
"""

from __future__ import annotations

import math

from antechamber.core.counters import RoomSnapshot
from antechamber.core.types import MINUTE_MS, OUTFLOW_WINDOW_S, REFRESH_INTERVAL_MS, RoomConfig

#: On average a user eligible for a slot only learns it at the next refresh.
_POLL_LAG_MS = REFRESH_INTERVAL_MS // 2


def prior_outflow_per_minute(config: RoomConfig) -> float:
    """What the limits allow per minute if every session lasts its full duration."""
    by_sessions = config.total_active_users / (config.session_duration or 1)
    rate = config.new_users_per_minute if config.new_users_per_minute < by_sessions else by_sessions
    return rate if rate > 1.0 else 1.0


def outflow_per_minute(config: RoomConfig, snapshot: RoomSnapshot) -> float:
    """Admissions per minute expected while people wait.

    Seconds of the last five minutes in which queued users were trying to get in
    measured the real outflow; the other seconds are filled in with the prior,
    so a queue that just formed is estimated from the limits and a queue that
    has been draining for five minutes from what actually happened.
    """
    window = OUTFLOW_WINDOW_S
    open_s = min(window, snapshot.open_seconds)
    prior = prior_outflow_per_minute(config)
    rate = (snapshot.admitted_open + prior / 60 * (window - open_s)) * 60 / window
    # A room that admitted nobody for the whole window still has some outflow
    # eventually (sessions expire); a floor keeps the estimate finite.
    floor = prior / 100
    return rate if rate > floor else floor


def fifo_wait_ms(ahead: int, rate_per_minute: float) -> int:
    """Expected wait of a FIFO user with ``ahead`` live users in front."""
    return int(ahead / rate_per_minute * MINUTE_MS) + _POLL_LAG_MS


def random_wait_percentiles_ms(waiting: int, rate_per_minute: float) -> tuple[int, int, int]:
    """25th, 50th and 75th percentile waits of a random-queue user.

    Each counted refresh is one draw with odds p = admissions per refresh
    interval / users waiting; the chance of a win within n draws is
    1 - (1 - p)^n, so the q-th percentile is ceil(ln(1 - q) / ln(1 - p)) draws.
    """
    per_draw = rate_per_minute * REFRESH_INTERVAL_MS / MINUTE_MS / max(1, waiting)
    if per_draw >= 1.0:
        return (REFRESH_INTERVAL_MS, REFRESH_INTERVAL_MS, REFRESH_INTERVAL_MS)
    log_miss = math.log1p(-per_draw)
    out = []
    for q in (0.25, 0.5, 0.75):
        draws = max(1, math.ceil(math.log1p(-q) / log_miss))
        out.append(draws * REFRESH_INTERVAL_MS)
    return (out[0], out[1], out[2])


def to_minutes(ms: int) -> int:
    """Whole minutes for display: rounded, and at least 1 for any wait."""
    if ms <= 0:
        return 0
    return max(1, (ms + MINUTE_MS // 2) // MINUTE_MS)


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
