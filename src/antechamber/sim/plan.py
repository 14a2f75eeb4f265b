"""The room as the simulator sees it over a run: its stored settings and, if scheduled, one event.

The config in force at each instant comes from the core's own builder
(:func:`antechamber.core.config.effective_config`), as in the gateway.
"""

from __future__ import annotations

from dataclasses import dataclass

from antechamber.core.config import EventSettings, RoomSettings, effective_config, next_change_ms
from antechamber.core.types import QueueingMethod, RoomConfig

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
    queueing_method: QueueingMethod | None = None


@dataclass(frozen=True, slots=True)
class RoomPlan:
    """The room's settings, its event, and the epoch that virtual time zero stands for."""

    room: RoomSettings
    event: EventSpec | None = None
    epoch_ms: int = SIM_EPOCH_MS

    @property
    def disable_renewal(self) -> bool:
        """Whether sessions last a fixed time from admission instead of from the last request."""
        return self.room.disable_session_renewal

    def event_start_ms(self) -> int:
        """Virtual time from which admissions may happen (event start, or 0 without an event)."""
        return 0 if self.event is None else _minute_ms(self.event.start_minute)

    def events(self) -> tuple[EventSettings, ...]:
        """The event as the config store would hold it (absolute times)."""
        if self.event is None:
            return ()
        return (
            EventSettings(
                id="sim-event",
                name="sim-event",
                event_start_time=self.epoch_ms + _minute_ms(self.event.start_minute),
                event_end_time=self.epoch_ms + _minute_ms(self.event.end_minute),
                prequeue_start_time=self.epoch_ms + _minute_ms(self.event.prequeue_minute),
                shuffle_at_event_start=self.event.shuffle_at_event_start,
                queueing_method=self.event.queueing_method,
            ),
        )

    def config_at(self, t_ms: int) -> tuple[RoomConfig, int]:
        """The config in force at virtual time ``t_ms`` and the virtual time it may next change."""
        events = self.events()
        now = self.epoch_ms + t_ms
        change = next_change_ms(self.room, events, now)
        return effective_config(self.room, events, now), _NEVER if change is None else change - self.epoch_ms


def _minute_ms(minute: float) -> int:
    """Minutes from the start of the run as virtual milliseconds."""
    return int(minute * 60_000)
