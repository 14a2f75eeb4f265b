"""The room as the simulator sees it over a run: its settings, and an event if one is scheduled."""

from __future__ import annotations

from dataclasses import dataclass, replace

from antechamber.core.types import EventWindow, QueueingMethod, RoomConfig

#: Virtual time zero (2026-01-01T00:00:00Z): fixed, so that runs are reproducible.
SIM_EPOCH_MS = 1_767_225_600_000
_NEVER = 1 << 62


@dataclass(frozen=True, slots=True)
class EventSpec:
    """A scheduled event, in minutes from the start of the run."""

    prequeue_minute: float
    start_minute: float
    end_minute: float
    shuffle_at_event_start: bool
    queueing_method: QueueingMethod = "fifo"


@dataclass(frozen=True, slots=True)
class RoomPlan:
    """The room's effective configuration at each moment of the run.

    While the event is active (prequeue start to event end) the effective
    config carries the event window, as the gateway's config builder would.
    """

    room: RoomConfig
    event: EventSpec | None = None
    epoch_ms: int = SIM_EPOCH_MS

    @property
    def disable_renewal(self) -> bool:
        """Whether sessions last a fixed time from admission instead of from the last request."""
        return self.room.disable_session_renewal

    def event_start_ms(self) -> int:
        """Virtual time at which admissions may start (event start, or 0 without an event)."""
        return 0 if self.event is None else _minute_ms(self.event.start_minute)

    def config_at(self, t_ms: int) -> tuple[RoomConfig, int]:
        """The config in force at virtual time ``t_ms`` and the virtual time it next changes."""
        if self.event is None:
            return self.room, _NEVER
        active_from = _minute_ms(self.event.prequeue_minute)
        active_until = _minute_ms(self.event.end_minute)
        if t_ms < active_from:
            return self.room, active_from
        if t_ms >= active_until:
            return self.room, _NEVER
        return self._event_config(), active_until

    def _event_config(self) -> RoomConfig:
        """The room with the event window attached and the event's queueing method."""
        assert self.event is not None
        window = EventWindow(
            event_id="sim-event",
            prequeue_start_ms=self.epoch_ms + _minute_ms(self.event.prequeue_minute),
            start_ms=self.epoch_ms + _minute_ms(self.event.start_minute),
            end_ms=self.epoch_ms + _minute_ms(self.event.end_minute),
            shuffle_at_event_start=self.event.shuffle_at_event_start,
        )
        return replace(self.room, event=window, queueing_method=self.event.queueing_method)


def _minute_ms(minute: float) -> int:
    """Minutes from the start of the run as virtual milliseconds."""
    return int(minute * 60_000)
