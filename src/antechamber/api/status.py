"""A room's status: what the config says, combined with live numbers from the state.

The live numbers come through :class:`StatusSource`; the gateway's state
backends implement it. Until then :class:`ZeroStatusSource` reports an idle room.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from antechamber.api.models.zone import RoomStatus, StateStoreStatus
from antechamber.api.schedule import EventWindow, active_event


class LiveNumbers(NamedTuple):
    """A room's current estimates, and the health of the store they come from."""

    queued_users: int
    active_users: int
    max_wait_minutes: int
    store: StateStoreStatus | None = None


class StatusSource(Protocol):
    """Where the API reads a room's live numbers from."""

    async def live_numbers(self, room_id: str) -> LiveNumbers:
        """The room's queued users, active users and longest estimated wait in minutes."""
        ...


class ZeroStatusSource:
    """A source for when no state is attached: every room is idle."""

    async def live_numbers(self, room_id: str) -> LiveNumbers:
        """Zeros, whatever the room."""
        return LiveNumbers(0, 0, 0)


def room_status(
    room: dict[str, Any], windows: Iterable[EventWindow], numbers: LiveNumbers, now: datetime
) -> RoomStatus:
    """Decide the status the way Cloudflare's status endpoint reports it.

    A suspended room is ``suspended`` and never has an event in force; otherwise an
    event in its prequeue window makes ``event_prequeueing``; otherwise the room is
    ``queueing`` exactly when someone is waiting.
    """
    event = None if room["suspended"] else active_event(windows, now)
    if room["suspended"]:
        status = "suspended"
    elif event is not None and event.is_prequeueing(now):
        status = "event_prequeueing"
    elif numbers.queued_users > 0:
        status = "queueing"
    else:
        status = "not_queueing"
    return RoomStatus(
        status=status,
        event_id="" if event is None else event.event_id,
        estimated_queued_users=numbers.queued_users,
        estimated_total_active_users=numbers.active_users,
        max_estimated_time_minutes=numbers.max_wait_minutes,
        state_store=numbers.store,
    )
