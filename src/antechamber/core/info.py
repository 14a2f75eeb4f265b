"""What the queue page and the JSON response show: Cloudflare's ``cfWaitingRoom`` object."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from antechamber.core.budget import fifo_refresh_s, seconds_to_turn
from antechamber.core.counters import RoomSnapshot
from antechamber.core.estimate import (
    fifo_wait_ms,
    first_exit_ms,
    format_duration,
    format_wait,
    format_wait_range,
    outflow_per_minute,
    random_wait_percentiles_ms,
    to_minutes,
    to_minutes_within,
)
from antechamber.core.ticket import Ticket
from antechamber.core.types import MINUTE_MS, QUEUE_FULL_WAIT_MINUTES, REFRESH_INTERVAL_S, RoomConfig

UNAVAILABLE = "unavailable"


class Wait(enum.Enum):
    """How the wait is shown."""

    ESTIMATE = "estimate"  # estimated from the counters
    UNKNOWN = "unknown"  # queue_all, prequeue or a full queue
    REJECT = "reject"  # the static reject page


@dataclass(frozen=True, slots=True)
class QueueInfo:
    """The 25 ``cfWaitingRoom`` fields (snake_case), plus two internal ones.

    ``last_updated_ms`` feeds ``lastUpdated``; ``estimated_wait_ms`` is the
    unrounded estimate (None when unknown) for the simulator and metrics.
    ``turnstile`` is empty here: the gateway fills in the widget markup.
    """

    wait_time_known: bool
    wait_time: int
    wait_time_25_percentile: int
    wait_time_50_percentile: int
    wait_time_75_percentile: int
    wait_time_formatted: str
    queue_is_full: bool
    queue_all: bool
    last_updated_ms: int
    refresh_interval_seconds: int
    queueing_method: str
    is_event_active: bool
    is_event_prequeueing: bool
    time_until_event_start: int
    time_until_event_start_formatted: str
    time_until_event_end: int
    time_until_event_end_formatted: str
    shuffle_at_event_start: bool
    infinite_queue: bool
    turnstile: str = ""
    in_waiting_room: bool = True
    estimated_wait_ms: int | None = None

    @property
    def last_updated(self) -> str:
        """``lastUpdated`` as Cloudflare writes it: ISO 8601, milliseconds, ``Z``."""
        stamp = datetime.fromtimestamp(self.last_updated_ms / 1000, tz=UTC)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.last_updated_ms % 1000:03d}Z"

    def to_json_dict(self) -> dict[str, Any]:
        """Exactly Cloudflare's 25 ``cfWaitingRoom`` names and types."""
        method = self.queueing_method
        return {
            "inWaitingRoom": self.in_waiting_room,
            "waitTimeKnown": self.wait_time_known,
            "waitTime": self.wait_time,
            "waitTime25Percentile": self.wait_time_25_percentile,
            "waitTime50Percentile": self.wait_time_50_percentile,
            "waitTime75Percentile": self.wait_time_75_percentile,
            "waitTimeFormatted": self.wait_time_formatted,
            "queueIsFull": self.queue_is_full,
            "queueAll": self.queue_all,
            "lastUpdated": self.last_updated,
            "refreshIntervalSeconds": self.refresh_interval_seconds,
            "queueingMethod": method,
            "isFIFOQueue": method == "fifo",
            "isRandomQueue": method == "random",
            "isPassthroughQueue": method == "passthrough",
            "isRejectQueue": method == "reject",
            "isEventActive": self.is_event_active,
            "isEventPrequeueing": self.is_event_prequeueing,
            "timeUntilEventStart": self.time_until_event_start,
            "timeUntilEventStartFormatted": self.time_until_event_start_formatted,
            "timeUntilEventEnd": self.time_until_event_end,
            "timeUntilEventEndFormatted": self.time_until_event_end_formatted,
            "shuffleAtEventStart": self.shuffle_at_event_start,
            "turnstile": self.turnstile,
            "infiniteQueue": self.infinite_queue,
        }


def queue_is_full(config: RoomConfig, snapshot: RoomSnapshot, rate: float | None = None) -> bool:
    """The back of the queue would wait more than 24 hours (``rate``: the outflow, if known).

    Only present users count: people who stopped refreshing hold nobody up.
    """
    if not snapshot.present:
        return False
    if rate is None:
        rate = outflow_per_minute(config, snapshot)
    return snapshot.present > rate * QUEUE_FULL_WAIT_MINUTES


def _ceil_minutes(ms: int) -> int:
    return max(0, -(-ms // MINUTE_MS))


def build_info(
    config: RoomConfig,
    snapshot: RoomSnapshot,
    ticket: Ticket,
    now_ms: int,
    wait: Wait,
    *,
    full: bool = False,
    rate: float | None = None,
) -> QueueInfo:
    """The queue page's fields for ``ticket`` (already updated by the decision).

    ``rate`` is the outflow per minute when the caller already computed it.
    """
    method = config.queueing_method
    # A full queue hides the estimate only from those it could not give a place.
    known = wait is Wait.ESTIMATE and (ticket.placed or not full)
    p25 = p50 = p75 = 0
    wait_ms: int | None = None
    refresh_s = 0 if wait is Wait.REJECT else REFRESH_INTERVAL_S
    formatted = UNAVAILABLE
    if known:
        if rate is None:
            rate = outflow_per_minute(config, snapshot)
        first_exit = first_exit_ms(config, snapshot)
        if method == "random":
            waiting = snapshot.present + (0 if ticket.placed else 1)
            w25, w50, w75 = random_wait_percentiles_ms(waiting, rate, first_exit)
            p25, p50, p75 = to_minutes_within(w25), to_minutes_within(w50), to_minutes_within(w75)
            wait_ms, minutes = w50, p50
            formatted = format_wait_range(p25, p75)
        else:
            if ticket.placed:
                # Order inside one second is not kept: count half of the same-second crowd as ahead.
                ahead = snapshot.queue.ahead(ticket.position_s)
                turn_ms = first_exit + 1000 * seconds_to_turn(config, snapshot, ahead, now_ms, rate)
                refresh_s = fifo_refresh_s(turn_ms / 1000)
                same = snapshot.queue.ahead(ticket.position_s + 1) - ahead
                ahead += max(0, same - 1) // 2
            else:
                ahead = snapshot.present
            wait_ms = fifo_wait_ms(ahead, rate, first_exit)
            minutes = to_minutes(wait_ms)
            formatted = format_wait(minutes)
    else:
        minutes = 0
    event = config.event
    start_in = end_in = 0
    start_fmt = end_fmt = UNAVAILABLE
    prequeueing = False
    if event is not None:
        prequeueing = now_ms < event.start_ms
        end_in = _ceil_minutes(event.end_ms - now_ms)
        end_fmt = format_duration(end_in)
        if prequeueing:
            start_in = _ceil_minutes(event.start_ms - now_ms)
            start_fmt = format_duration(start_in)
    return QueueInfo(
        wait_time_known=known,
        wait_time=minutes,
        wait_time_25_percentile=p25,
        wait_time_50_percentile=p50,
        wait_time_75_percentile=p75,
        wait_time_formatted=formatted,
        queue_is_full=full,
        queue_all=config.queue_all,
        last_updated_ms=ticket.refresh_ms or now_ms,
        refresh_interval_seconds=refresh_s,
        queueing_method=method,
        is_event_active=event is not None,
        is_event_prequeueing=prequeueing,
        time_until_event_start=start_in,
        time_until_event_start_formatted=start_fmt,
        time_until_event_end=end_in,
        time_until_event_end_formatted=end_fmt,
        shuffle_at_event_start=event is not None and event.shuffle_at_event_start,
        infinite_queue=ticket.infinite_queue,
        estimated_wait_ms=wait_ms,
    )
