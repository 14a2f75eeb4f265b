"""The free slots: how many new users may go in now, and how soon a FIFO user's turn comes.

Pure functions of the room's effective config and counters. The decision
(:mod:`.decide`) admits against them, the queue page (:mod:`.info`) tells a
visitor when to come back by them, and the Redis backend splits them between
nodes.
"""

from __future__ import annotations

from antechamber.core.counters import RoomSnapshot
from antechamber.core.types import (
    FIFO_REFRESH_MIN_S,
    MINUTE_CAP_SLACK_MS,
    MINUTE_MS,
    PACE_BURST_MS,
    REFRESH_INTERVAL_S,
    RoomConfig,
)


def minute_cap(config: RoomConfig) -> int:
    """The most new users the last ``CAP_WINDOW_S`` (61) whole seconds may hold before admissions stop.

    ``new_users_per_minute`` plus ``MINUTE_CAP_SLACK_MS`` worth, so that no
    60 s interval, even one straddling the counters' seconds, holds more than
    1.02 × the budget.
    """
    nupm = config.new_users_per_minute
    return nupm + nupm * MINUTE_CAP_SLACK_MS // MINUTE_MS


def _new_user_budget(config: RoomConfig, snapshot: RoomSnapshot, now_ms: int) -> int:
    """The paced new-user budget on its own (active users aside): 0 while the minute cap is reached."""
    by_minute = minute_cap(config) - snapshot.admitted_last_minute
    if by_minute <= 0:
        return 0
    now_us = now_ms * 1000
    slack = now_us + PACE_BURST_MS * 1000 - max(snapshot.pace_tat_us, now_us)
    if slack < 0:
        return 0
    interval = (MINUTE_MS * 1000) // config.new_users_per_minute
    by_pace = slack // interval + 1 if interval else by_minute
    if config.queueing_method == "fifo":
        # The first by_pace users in line may all refresh at once: all of them must fit under the cap.
        return min(by_pace, by_minute)
    return by_pace


def free_slots(config: RoomConfig, snapshot: RoomSnapshot, now_ms: int) -> int:
    """New users that may be let in now: min(active headroom, paced new-user budget), 0 at the minute cap.

    The budget is a GCRA: one admission every 60 s / ``new_users_per_minute``
    with up to ``PACE_BURST_MS`` of it spent at once; in steady state that is
    exactly ``new_users_per_minute``. Its unspent part is the slots held for
    queued users who take up to 20 s to come back. The minute cap
    (:func:`minute_cap`) bounds every 60 s, the first minute after a quiet
    spell included. Random queueing only stops at the cap: the odds come from
    the held slots, so the last minute running close to the budget does not
    thin them out. FIFO also keeps the held slots under the cap, since the
    users they are held for may all come back at once. A FIFO user is in when
    fewer present users than there are free slots arrived in an earlier second;
    the queue page asks users whose turn is near to come back sooner than in
    20 s (:func:`fifo_refresh_s`), so held slots wait about a second, not ten.
    """
    by_active = config.total_active_users - snapshot.active
    if by_active <= 0:
        return 0
    return min(by_active, _new_user_budget(config, snapshot, now_ms))


def seconds_to_turn(
    config: RoomConfig, snapshot: RoomSnapshot, ahead: int, now_ms: int, rate_per_minute: float
) -> float:
    """About how long until the slot before a FIFO user's own comes, ``ahead`` present users being in front.

    The user needs ``ahead + 1`` slots to have come, the free ones
    (:func:`free_slots`) first, the rest at the room's outflow
    ``rate_per_minute``. Timed to the slot before its own, a user told to come
    back then is there when its own comes. 0: it is the user's turn, or next.
    """
    short = ahead - free_slots(config, snapshot, now_ms)
    if short <= 0:
        return 0.0
    return short * 60.0 / rate_per_minute


def fifo_refresh_s(turn_s: float) -> int:
    """The refresh interval to give a FIFO user whose turn comes in ``turn_s``: sooner as it nears.

    A slot the pace holds for the first user in line waits until that user's
    browser comes back. On the 20 s refresh that is 10 s on average, which the
    cap on new users in any 60 s would have to leave room for; a user told to
    come back when its turn is due claims its slot within about a second.
    """
    if turn_s >= REFRESH_INTERVAL_S:
        return REFRESH_INTERVAL_S
    return max(FIFO_REFRESH_MIN_S, int(turn_s))
