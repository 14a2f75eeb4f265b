"""Named presets: a room, a crowd and a run length that together tell one story."""

from __future__ import annotations

from dataclasses import dataclass, replace

from antechamber.core.config import RoomSettings
from antechamber.sim.crowd import CrowdSpec
from antechamber.sim.plan import EventSpec, RoomPlan

ROOM_ID = "sim-room"


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything one run needs; ``arrivals_only`` runs skip refreshes and sessions (memory test)."""

    name: str
    description: str
    plan: RoomPlan
    crowd: CrowdSpec
    duration_minutes: float
    arrivals_only: bool = False


def _room(total_active_users: int, new_users_per_minute: int, session_duration: int) -> RoomSettings:
    return RoomSettings(
        id=ROOM_ID,
        total_active_users=total_active_users,
        new_users_per_minute=new_users_per_minute,
        session_duration=session_duration,
    )


SCENARIOS: dict[str, Scenario] = {
    "flash": Scenario(
        name="flash",
        description="A sale opens: a million visitors, most within the first five minutes.",
        plan=RoomPlan(_room(500_000, 50_000, 5)),
        crowd=CrowdSpec(visitors=1_000_000, curve="flash", arrival_minutes=30),
        duration_minutes=60,
    ),
    "ramp": Scenario(
        name="ramp",
        description="Traffic climbs steadily for 40 minutes until it is twice what the room lets in.",
        plan=RoomPlan(_room(20_000, 2_000, 5)),
        crowd=CrowdSpec(visitors=100_000, curve="ramp", arrival_minutes=40),
        duration_minutes=90,
    ),
    "event": Scenario(
        name="event",
        description="An event with a 30-minute prequeue shuffled at the start, then a FIFO queue behind it.",
        plan=RoomPlan(
            _room(10_000, 1_000, 5),
            event=EventSpec(prequeue_minute=0, start_minute=30, end_minute=150, shuffle_at_event_start=True),
        ),
        crowd=CrowdSpec(visitors=50_000, curve="event", arrival_minutes=60, event_start_minute=30),
        duration_minutes=120,
    ),
    "random": Scenario(
        name="random",
        description="The flash crowd at a fifth of the size, with random instead of FIFO queueing.",
        plan=RoomPlan(replace(_room(100_000, 10_000, 5), queueing_method="random")),
        crowd=CrowdSpec(visitors=200_000, curve="flash", arrival_minutes=30),
        duration_minutes=60,
    ),
    "small": Scenario(
        name="small",
        description="Five thousand visitors against a 1,000-user room: quick, used by the tests.",
        plan=RoomPlan(_room(1_000, 200, 3)),
        crowd=CrowdSpec(visitors=5_000, curve="flash", arrival_minutes=10, browse_minutes=2.0),
        duration_minutes=45,
    ),
    "memory": Scenario(
        name="memory",
        description="Ten million visitors join a queue_all queue within four minutes; measures the state's memory.",
        # queue_all places every arrival: with nobody refreshing, a normal queue would
        # measure no outflow, call itself full and stop placing newcomers.
        plan=RoomPlan(replace(_room(1_000, 200, 5), queue_all=True)),
        crowd=CrowdSpec(visitors=10_000_000, curve="steady", arrival_minutes=4),
        duration_minutes=4,
        arrivals_only=True,
    ),
    "memory-prequeue": Scenario(
        name="memory-prequeue",
        description="Ten million visitors join a shuffled prequeue in its last four minutes; measures memory.",
        plan=RoomPlan(
            _room(1_000, 200, 5),
            event=EventSpec(prequeue_minute=0, start_minute=30, end_minute=90, shuffle_at_event_start=True),
        ),
        crowd=CrowdSpec(visitors=10_000_000, curve="steady", arrival_minutes=4, first_arrival_minute=26),
        duration_minutes=30,
        arrivals_only=True,
    ),
}
