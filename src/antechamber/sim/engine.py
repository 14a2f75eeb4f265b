"""The event loop: a virtual clock and a heap of visitor requests, each answered by the real core.

One request is one ``snapshot → decide → apply`` round trip, exactly what a
single gateway process does. The simulated browser keeps the decoded ticket
(the cookie's content) per visitor. Heap entries are single ints,
``time << 26 | visitor << 2 | kind``, because int comparisons are several times
cheaper than tuple comparisons and the loop runs tens of millions of times.
"""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from antechamber.core.types import Outcome, RequestFacts
from antechamber.sim.binding import CoreBinding
from antechamber.sim.crowd import ABANDON, LATE, Crowd, CrowdSpec
from antechamber.sim.plan import RoomPlan

_VISITOR_BITS = 24
_SHIFT = _VISITOR_BITS + 2
_VISITOR_MASK = (1 << _VISITOR_BITS) - 1
MAX_VISITORS = 1 << _VISITOR_BITS
_REFRESH, _BROWSE = 1, 2

#: The queue page's ``Refresh`` for a core that does not say (the real one asks for less than
#: 20 s when a FIFO user's turn is near); an on-time browser adds up to a second of latency.
REFRESH_MS = 20_000
_LATENCY_MS = 1_000
_PROGRESS_EVERY_MS = 5 * 60_000
#: One decision in this many has its ticket sealed and opened with the real cookie codec.
COOKIE_SAMPLE_EVERY = 1_000


@dataclass(slots=True)
class RunRecord:
    """What every visitor experienced, plus the core's own counters sampled on the way."""

    arrival_ms: list[int]
    first_queue_ms: list[int]
    estimate_minutes: list[float]
    estimate_raw_minutes: list[float]
    estimate_at_ms: list[int]
    admitted_ms: list[int]
    abandoned_ms: list[int]
    #: ``waitTime75Percentile`` shown with the first known estimate (NaN if none; 0 under FIFO).
    estimate_p75_minutes: list[float] = field(default_factory=list)
    session_starts_ms: list[int] = field(default_factory=list)
    session_ends_ms: list[int] = field(default_factory=list)
    admissions_ms: list[int] = field(default_factory=list)
    sample_ms: list[int] = field(default_factory=list)
    core_active: list[int] = field(default_factory=list)
    core_waiting: list[int] = field(default_factory=list)
    memory_bytes: list[int] = field(default_factory=list)
    requests: int = 0
    rejected: int = 0
    requeued: int = 0
    end_ms: int = 0
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    cookies_checked: int = 0
    cookie_mismatches: int = 0
    #: The core/state commit that produced the record (set by the runner before the run).
    code_version: str = ""


_SCALAR_FIELDS = (
    "requests",
    "rejected",
    "requeued",
    "end_ms",
    "wall_seconds",
    "cpu_seconds",
    "cookies_checked",
    "cookie_mismatches",
    "code_version",
)
_LIST_FIELDS = tuple(name for name in RunRecord.__dataclass_fields__ if name not in _SCALAR_FIELDS)


def save_record(record: RunRecord, path: Path) -> None:
    """Keep a run's raw record (``.npz``), so that the analysis can be redone without re-simulating."""
    arrays: dict[str, Any] = {name: np.asarray(getattr(record, name)) for name in _LIST_FIELDS + _SCALAR_FIELDS}
    np.savez_compressed(path, **arrays)


def load_record(path: Path) -> RunRecord:
    """Read a record written by :func:`save_record`."""
    with np.load(path) as data:
        # Records saved before a field existed leave it at its default.
        lists = {name: data[name].tolist() for name in _LIST_FIELDS if name in data}
        scalars = {name: data[name].item() for name in _SCALAR_FIELDS if name in data}
    return RunRecord(**lists, **scalars)


def simulate_crowd(
    plan: RoomPlan,
    crowd: Crowd,
    spec: CrowdSpec,
    core: CoreBinding,
    duration_ms: int,
    seed: int,
    sample_every_ms: int = 10_000,
    progress: Callable[[int, int], None] | None = None,
) -> RunRecord:
    """Play ``crowd`` against the core until ``duration_ms`` of virtual time has passed."""
    started, cpu_started = time.perf_counter(), time.process_time()
    arrivals: list[int] = crowd.arrival_ms.tolist()
    n = len(arrivals)
    if n > MAX_VISITORS:
        raise ValueError(f"at most {MAX_VISITORS} visitors per run, got {n}")
    behaviour: list[int] = crowd.behaviour.tolist()
    patience: list[int] = crowd.patience_ms.tolist()
    browse: list[int] = crowd.browse_ms.tolist()
    record = RunRecord(
        arrival_ms=arrivals,
        first_queue_ms=[-1] * n,
        estimate_minutes=[float("nan")] * n,
        estimate_raw_minutes=[float("nan")] * n,
        estimate_at_ms=[-1] * n,
        admitted_ms=[-1] * n,
        abandoned_ms=[-1] * n,
        estimate_p75_minutes=[float("nan")] * n,
    )
    first_queue, estimate_minutes, estimate_at = record.first_queue_ms, record.estimate_minutes, record.estimate_at_ms
    admitted, abandoned, admissions = record.admitted_ms, record.abandoned_ms, record.admissions_ms
    tickets: list[Any] = [None] * n
    session_start = [-1] * n
    last_origin = [-1] * n
    browse_until = [-1] * n
    session_ms = [0] * n

    behaviour_rng = random.Random(seed)
    rand, expovariate = behaviour_rng.random, behaviour_rng.expovariate
    core_rng = random.Random(seed + 1)
    decide, snapshot, apply = core.decide, core.snapshot, core.apply
    wait_estimate, wait_p75, refresh_seconds = core.wait_estimate, core.wait_p75, core.refresh_seconds
    estimate_p75 = record.estimate_p75_minutes
    cookie_roundtrip = core.cookie_roundtrip
    estimate_raw = record.estimate_raw_minutes
    facts = RequestFacts()
    room_id = plan.room.id
    epoch = plan.epoch_ms
    late_rate = 1.0 / (spec.late_extra_seconds * 1000.0)
    think_rate = 1.0 / (spec.think_seconds * 1000.0)
    heap: list[int] = []
    push, pop = heapq.heappush, heapq.heappop
    queue, origin, bypass = Outcome.QUEUE, Outcome.ORIGIN, Outcome.BYPASS

    def close_session(v: int) -> None:
        start = session_start[v]
        end = start + session_ms[v] if plan.disable_renewal else last_origin[v] + session_ms[v]
        record.session_starts_ms.append(start)
        record.session_ends_ms.append(end)
        session_start[v] = -1

    next_arrival = 0
    next_sample = 0
    config, next_change = plan.config_at(0)
    t = 0
    while True:
        if next_arrival < n and (not heap or arrivals[next_arrival] <= heap[0] >> _SHIFT):
            v = next_arrival
            t = arrivals[v]
            next_arrival += 1
        elif heap:
            key = pop(heap)
            t = key >> _SHIFT
            v = (key >> 2) & _VISITOR_MASK
        else:
            break
        if t >= duration_ms:
            break
        while t >= next_sample:
            _sample(record, core, room_id, epoch + next_sample, next_sample)
            if progress is not None and next_sample % _PROGRESS_EVERY_MS == 0:
                progress(next_sample, record.requests)
            next_sample += sample_every_ms
        if t >= next_change:
            config, next_change = plan.config_at(t)
        now = epoch + t
        decision = decide(config, snapshot(room_id, now), tickets[v], facts, now, core_rng)
        apply(room_id, decision.deltas, now)
        record.requests += 1
        if cookie_roundtrip is not None and record.requests % COOKIE_SAMPLE_EVERY == 0 and decision.ticket is not None:
            record.cookies_checked += 1
            if not cookie_roundtrip(room_id, decision.ticket, now):
                record.cookie_mismatches += 1
        outcome = decision.outcome
        if outcome is queue:
            tickets[v] = decision.ticket
            if first_queue[v] < 0:
                first_queue[v] = t
            if estimate_at[v] < 0:
                shown = wait_estimate(decision.info)
                if shown is not None:
                    estimate_minutes[v], estimate_raw[v] = shown
                    estimate_at[v] = t
                    if wait_p75 is not None:
                        p75 = wait_p75(decision.info)
                        if p75 is not None:
                            estimate_p75[v] = p75
            if session_start[v] >= 0:
                # An admitted visitor sent back to the queue (session over, or revoked).
                close_session(v)
                record.requeued += 1
            kind = behaviour[v]
            delay = refresh_seconds(decision.info) * 1000 if refresh_seconds else REFRESH_MS
            delay += int(rand() * _LATENCY_MS)
            if kind == LATE:
                delay += int(expovariate(late_rate))
            elif kind == ABANDON and t + delay - first_queue[v] > patience[v]:
                abandoned[v] = t
                tickets[v] = None
                continue
            push(heap, ((t + delay) << _SHIFT) | (v << 2) | _REFRESH)
        elif outcome is origin or outcome is bypass:
            tickets[v] = decision.ticket
            if session_start[v] < 0:
                session_start[v] = t
                session_ms[v] = config.session_duration * 60_000
                browse_until[v] = t + browse[v]
                admissions.append(t)
                if admitted[v] < 0:
                    admitted[v] = t
            last_origin[v] = t
            # Think times stay inside the session so that browsing keeps renewing it.
            gap = min(int(expovariate(think_rate)), session_ms[v] * 4 // 5)
            if t + gap <= browse_until[v]:
                push(heap, ((t + gap) << _SHIFT) | (v << 2) | _BROWSE)
            else:
                close_session(v)
                tickets[v] = None
        else:
            record.rejected += 1
            tickets[v] = None
    record.end_ms = min(t, duration_ms)
    while next_sample <= record.end_ms:
        _sample(record, core, room_id, epoch + next_sample, next_sample)
        next_sample += sample_every_ms
    for v in range(n):
        if session_start[v] >= 0:
            close_session(v)
    record.wall_seconds = time.perf_counter() - started
    # CPU time as well: on a shared machine the wall time says more about the neighbours.
    record.cpu_seconds = time.process_time() - cpu_started
    return record


def _sample(record: RunRecord, core: CoreBinding, room_id: str, now: int, t: int) -> None:
    """Record the core's own view of the room at virtual time ``t``."""
    active, waiting = core.counts(core.snapshot(room_id, now))
    record.sample_ms.append(t)
    record.core_active.append(active)
    record.core_waiting.append(waiting)
    record.memory_bytes.append(core.memory_bytes())
