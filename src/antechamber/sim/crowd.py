"""The simulated crowd: when visitors arrive and how each one behaves.

Everything here is drawn up front with numpy from one seed, so that the event
loop only reads plain per-visitor lists and a run is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

ArrivalCurve = Literal["flash", "ramp", "event", "steady"]
ARRIVAL_CURVES: tuple[ArrivalCurve, ...] = ("flash", "ramp", "event", "steady")

#: Refresh behaviours, stored per visitor as small ints for the event loop.
ON_TIME, LATE, ABANDON = 0, 1, 2

#: The grid on which arrival rate curves are sampled before inversion.
_CURVE_STEP_S = 1.0


@dataclass(frozen=True, slots=True)
class CrowdSpec:
    """How many visitors come, along which curve, and how they behave.

    Times are minutes from the start of the simulation. For the ``event`` curve
    ``event_start_minute`` is when the event starts; arrivals before it fall
    into the prequeue.
    """

    visitors: int
    curve: ArrivalCurve
    arrival_minutes: float
    flash_decay_minutes: float = 3.0
    event_start_minute: float = 0.0
    late_share: float = 0.1
    abandon_share: float = 0.05
    patience_minutes: float = 4.0
    late_extra_seconds: float = 25.0
    browse_minutes: float = 5.0
    think_seconds: float = 60.0
    #: Arrivals start this late (minutes) into the run, e.g. near the end of a prequeue.
    first_arrival_minute: float = 0.0


@dataclass(frozen=True, slots=True)
class Crowd:
    """Per-visitor draws, indexed by visitor number (which is arrival order)."""

    arrival_ms: npt.NDArray[np.int64]
    behaviour: npt.NDArray[np.int8]
    patience_ms: npt.NDArray[np.int64]
    browse_ms: npt.NDArray[np.int64]


def arrival_rate(curve: ArrivalCurve, t_s: npt.NDArray[np.float64], spec: CrowdSpec) -> npt.NDArray[np.float64]:
    """The relative arrival rate of ``curve`` at times ``t_s`` (seconds), unnormalised."""
    span_s = spec.arrival_minutes * 60.0
    inside = (t_s >= 0.0) & (t_s < span_s)
    if curve == "steady":
        rate = np.ones_like(t_s)
    elif curve == "ramp":
        # Rises linearly from a trickle to its peak at the end of the span.
        rate = 0.05 + t_s / span_s
    elif curve == "flash":
        # A sale opens: a 20-second rise, then an exponential decay to a tail.
        rise = np.clip(t_s / 20.0, 0.0, 1.0)
        rate = rise * (np.exp(-t_s / (spec.flash_decay_minutes * 60.0)) + 0.02)
    else:
        rate = _event_rate(t_s, spec)
    return np.where(inside, rate, 0.0)


def _event_rate(t_s: npt.NDArray[np.float64], spec: CrowdSpec) -> npt.NDArray[np.float64]:
    """Build-up during the prequeue, a spike at event start, then a decaying tail."""
    start_s = spec.event_start_minute * 60.0
    before = 0.2 + 0.8 * np.clip(t_s / max(start_s, 1.0), 0.0, 1.0)
    after_t = np.maximum(t_s - start_s, 0.0)
    after = 0.2 + 1.5 * np.exp(-after_t / (spec.flash_decay_minutes * 60.0))
    return np.where(t_s < start_s, before, after)


def arrival_times_ms(spec: CrowdSpec, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Sorted arrival times (ms from the start) following the curve, by inverting its CDF."""
    span_s = spec.arrival_minutes * 60.0
    grid = np.arange(0.0, span_s + _CURVE_STEP_S, _CURVE_STEP_S)
    rate = arrival_rate(spec.curve, grid[:-1], spec)
    cdf = np.concatenate(([0.0], np.cumsum(rate)))
    cdf /= cdf[-1]
    quantiles = np.sort(rng.random(spec.visitors))
    seconds = np.interp(quantiles, cdf, grid) + spec.first_arrival_minute * 60.0
    return np.asarray(np.floor(seconds * 1000.0), dtype=np.int64)


def draw_crowd(spec: CrowdSpec, seed: int) -> Crowd:
    """Draw every visitor's arrival and behaviour from ``seed``."""
    rng = np.random.default_rng(seed)
    n = spec.visitors
    arrivals = arrival_times_ms(spec, rng)
    on_time_share = max(0.0, 1.0 - spec.late_share - spec.abandon_share)
    shares = np.array([on_time_share, spec.late_share, spec.abandon_share])
    behaviour = rng.choice(np.array([ON_TIME, LATE, ABANDON], dtype=np.int8), size=n, p=shares / shares.sum())
    patience = rng.exponential(spec.patience_minutes * 60_000.0, size=n)
    # Lognormal browse times: most visits are short, a few people stay long.
    sigma = 0.75
    browse = rng.lognormal(np.log(spec.browse_minutes * 60_000.0) - sigma * sigma / 2.0, sigma, size=n)
    return Crowd(
        arrival_ms=arrivals,
        behaviour=behaviour.astype(np.int8),
        patience_ms=patience.astype(np.int64),
        browse_ms=browse.astype(np.int64),
    )
