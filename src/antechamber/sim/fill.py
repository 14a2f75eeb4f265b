"""Arrivals only: fill the queue with millions of first requests and weigh the room's state.

Nobody refreshes, so this runs at the speed of one ``decide`` per visitor; the
arrivals all fall inside the five minutes a queued place is held, so every one
of them still counts as waiting when the state is weighed.
"""

from __future__ import annotations

import random
import time
from typing import Any

import numpy as np

from antechamber.core.types import RequestFacts
from antechamber.sim.binding import CoreBinding
from antechamber.sim.crowd import arrival_times_ms
from antechamber.sim.scenarios import Scenario

_CHECKPOINTS = 10


def fill_queue(scenario: Scenario, core: CoreBinding, seed: int) -> dict[str, Any]:
    """Send every visitor's first request, then report the core's counts and the state's size."""
    started, cpu_started = time.perf_counter(), time.process_time()
    arrivals: list[int] = arrival_times_ms(scenario.crowd, np.random.default_rng(seed)).tolist()
    plan = scenario.plan
    room_id, epoch = plan.room.id, plan.epoch_ms
    decide, snapshot, apply = core.decide, core.snapshot, core.apply
    facts = RequestFacts()
    rng = random.Random(seed + 1)
    config, next_change = plan.config_at(0)
    every = max(1, len(arrivals) // _CHECKPOINTS)
    checkpoints: list[dict[str, int]] = []
    for index, t in enumerate(arrivals, start=1):
        if t >= next_change:
            config, next_change = plan.config_at(t)
        now = epoch + t
        apply(room_id, decide(config, snapshot(room_id, now), None, facts, now, rng).deltas, now)
        if index % every == 0:
            checkpoints.append({"visitors": index, "state_memory_bytes": core.memory_bytes()})
    end_ms = arrivals[-1] if arrivals else 0
    active, waiting = core.counts(snapshot(room_id, epoch + end_ms))
    wall = time.perf_counter() - started
    return {
        "visitors": len(arrivals),
        "virtual_minutes": round(end_ms / 60_000, 2),
        "core_active": active,
        "core_waiting": waiting,
        "state_memory_bytes": core.memory_bytes(),
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(time.process_time() - cpu_started, 2),
        "requests_per_second": round(len(arrivals) / max(wall, 1e-9)),
        "checkpoints": checkpoints,
    }
