"""When events are open, which one is in force, and which comes next."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from antechamber.db.ids import parse_timestamp


@dataclass(frozen=True, slots=True)
class EventWindow:
    """An event's times: it is open from ``opens`` (prequeue, else start) until ``end``."""

    event_id: str
    opens: datetime
    start: datetime
    end: datetime
    suspended: bool

    @classmethod
    def of(cls, event_id: str, body: Mapping[str, Any]) -> EventWindow:
        """Read the window from a stored or validated event body."""
        start = parse_timestamp(body["event_start_time"])
        prequeue = body.get("prequeue_start_time")
        return cls(
            event_id=event_id,
            opens=start if prequeue is None else parse_timestamp(prequeue),
            start=start,
            end=parse_timestamp(body["event_end_time"]),
            suspended=bool(body.get("suspended", False)),
        )

    def overlaps(self, other: EventWindow) -> bool:
        """Whether the two windows share any instant (prequeue windows included)."""
        return self.opens < other.end and other.opens < self.end

    def is_open(self, now: datetime) -> bool:
        """Whether the event is prequeueing or running at ``now``."""
        return self.opens <= now < self.end

    def is_prequeueing(self, now: datetime) -> bool:
        """Whether ``now`` is in the prequeue, before the event starts."""
        return self.opens <= now < self.start


def active_event(windows: Iterable[EventWindow], now: datetime) -> EventWindow | None:
    """The non-suspended event open at ``now`` (events may not overlap, so at most one)."""
    return next((window for window in windows if not window.suspended and window.is_open(now)), None)


def next_event(windows: Iterable[EventWindow], now: datetime) -> EventWindow | None:
    """The earliest non-suspended event that has not started yet."""
    upcoming = [window for window in windows if not window.suspended and window.start > now]
    return min(upcoming, key=lambda window: window.start, default=None)
