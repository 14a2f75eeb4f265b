"""Turn a run's raw record into the numbers and time series that DESIGN section 5 asks about."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from antechamber.sim import metrics
from antechamber.sim.engine import RunRecord
from antechamber.sim.scenarios import Scenario

#: Time step of the ground-truth series (active users, queue length, admissions in the last minute).
SERIES_STEP_MS = 1_000
_MINUTE_MS = 60_000


@dataclass(slots=True)
class Analysis:
    """Headline numbers (``summary``) and plot-ready series (``series``), both JSON-ready."""

    summary: dict[str, Any]
    series: dict[str, list[float]]
    wait_points: dict[str, list[float]] = field(default_factory=dict)
    order_points: dict[str, list[float]] = field(default_factory=dict)


def _array(values: list[int]) -> metrics.IntArray:
    return np.asarray(values, dtype=np.int64)


def analyse(scenario: Scenario, record: RunRecord) -> Analysis:
    """Compute every measure of one crowd run."""
    room = scenario.plan.room
    tau_limit, nupm = room.total_active_users, room.new_users_per_minute
    arrival = _array(record.arrival_ms)
    first_queue = _array(record.first_queue_ms)
    admitted = _array(record.admitted_ms)
    abandoned = _array(record.abandoned_ms)
    starts, ends = _array(record.session_starts_ms), _array(record.session_ends_ms)
    admissions = _array(record.admissions_ms)
    end_ms = record.end_ms

    grid = np.arange(0, end_ms + 1, SERIES_STEP_MS, dtype=np.int64)
    active = metrics.step_count(grid, starts, ends)
    admitted_last_minute = metrics.events_in_window(grid, admissions, _MINUTE_MS)
    queued = first_queue >= 0
    queue_end = np.where(admitted >= 0, admitted, np.where(abandoned >= 0, abandoned, end_ms + 1))
    live_queue = metrics.step_count(grid, first_queue[queued], queue_end[queued])

    # "People wait" = at least one refresh period's worth of admissions has been
    # queued throughout the last minute, and admissions are allowed (event started).
    deep = max(1, nupm // 3)
    lagged = np.concatenate((np.zeros(_MINUTE_MS // SERIES_STEP_MS, np.int64), live_queue))[: live_queue.size]
    waiting_mask = (live_queue >= deep) & (lagged >= deep) & (grid >= scenario.plan.event_start_ms() + _MINUTE_MS)
    use = metrics.capacity_use(active, admitted_last_minute, waiting_mask, tau_limit, nupm)

    summary: dict[str, Any] = {
        "visitors": int(arrival.size),
        "requests": record.requests,
        "wall_seconds": round(record.wall_seconds, 2),
        "cpu_seconds": round(record.cpu_seconds, 2),
        "requests_per_second": round(record.requests / max(record.wall_seconds, 1e-9)),
        "virtual_minutes": round(end_ms / _MINUTE_MS, 2),
        "admitted": int(np.count_nonzero(admitted >= 0)),
        "queued": int(np.count_nonzero(queued)),
        "abandoned": int(np.count_nonzero(abandoned >= 0)),
        "still_waiting_at_end": int(np.count_nonzero(queued & (admitted < 0) & (abandoned < 0))),
        "rejected": record.rejected,
        "requeued": record.requeued,
        "peak_active": metrics.peak_overlap(starts, ends),
        "peak_active_ratio": metrics.peak_overlap(starts, ends) / tau_limit,
        "peak_core_active_ratio": max(record.core_active, default=0) / tau_limit,
        # Sampled at whole seconds, as the counters see it; the next one counts every real interval.
        "peak_admissions_per_minute_ratio": float(admitted_last_minute.max(initial=0)) / nupm,
        "peak_admissions_any_60s_ratio": metrics.peak_in_any_window(admissions, _MINUTE_MS) / nupm,
        "capacity_use_mean": float(use.mean()) if use.size else None,
        "capacity_use_p5": float(np.percentile(use, 5)) if use.size else None,
        "capacity_waiting_minutes": round(use.size * SERIES_STEP_MS / _MINUTE_MS, 1),
        "state_memory_peak_bytes": max(record.memory_bytes, default=0),
        "cookies_checked": record.cookies_checked,
        "cookie_mismatches": record.cookie_mismatches,
        "code_version": record.code_version or None,
    }
    summary.update(_order_measures(scenario, arrival, admitted))
    wait_summary, wait_points = _estimate_measures(record, admitted)
    summary.update(wait_summary)

    step = max(1, grid.size // 2_000)
    series: dict[str, list[float]] = {
        "minute": (grid[::step] / _MINUTE_MS).tolist(),
        "active": active[::step].tolist(),
        "admitted_last_minute": admitted_last_minute[::step].tolist(),
        "live_queue": live_queue[::step].tolist(),
        "sample_minute": (_array(record.sample_ms) / _MINUTE_MS).tolist(),
        "core_active": [float(x) for x in record.core_active],
        "core_waiting": [float(x) for x in record.core_waiting],
        "memory_bytes": [float(x) for x in record.memory_bytes],
        "admissions_per_minute": metrics.per_minute_counts(admissions, int(end_ms // _MINUTE_MS) + 1).tolist(),
    }
    return Analysis(summary, series, wait_points, _order_points(arrival, admitted))


def _order_measures(scenario: Scenario, arrival: metrics.IntArray, admitted: metrics.IntArray) -> dict[str, Any]:
    """Kendall tau between arrival and admission; split at event start when a prequeue shuffles."""
    served = admitted >= 0
    result: dict[str, Any] = {"kendall_tau": metrics.normalised_kendall_tau(arrival[served], admitted[served])}
    event = scenario.plan.event
    if event is None:
        return result
    start = scenario.plan.event_start_ms()
    prequeued = served & (arrival < start)
    after = served & (arrival >= start)
    result["kendall_tau_prequeue"] = metrics.normalised_kendall_tau(arrival[prequeued], admitted[prequeued])
    result["kendall_tau_after_start"] = metrics.normalised_kendall_tau(arrival[after], admitted[after])
    # FIFO after a prequeue puts every later arrival behind every prequeued visitor:
    # the share of (prequeued, later) pairs admitted the other way round.
    prequeue_times = np.sort(admitted[prequeued])
    overtaken = prequeue_times.size - np.searchsorted(prequeue_times, admitted[after], side="right")
    pairs = prequeue_times.size * int(np.count_nonzero(after))
    result["prequeue_overtaken_share"] = float(overtaken.sum()) / pairs if pairs else 0.0
    result["kendall_tau"] = result["kendall_tau_after_start"]
    return result


def _estimate_measures(record: RunRecord, admitted: metrics.IntArray) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """Median error of the first known wait estimate against the wait then actually served.

    For random queueing also the calibration of the 75th percentile shown with
    it: the share of visitors admitted within their ``waitTime75Percentile``.
    """
    estimate = np.asarray(record.estimate_minutes, dtype=np.float64)
    shown_at = _array(record.estimate_at_ms)
    usable = (shown_at >= 0) & (admitted >= shown_at)
    actual = (admitted[usable] - shown_at[usable]) / _MINUTE_MS
    shown = estimate[usable]
    errors = metrics.relative_errors(shown, actual)
    signed = (shown - actual) / np.maximum(actual, 1.0)
    raw = np.asarray(record.estimate_raw_minutes, dtype=np.float64)[usable]
    raw_errors = metrics.relative_errors(raw, actual)
    some = errors.size > 0
    # Records saved before the 75th percentile was kept have none.
    p75_all = np.asarray(record.estimate_p75_minutes or [np.nan] * admitted.size, dtype=np.float64)
    p75 = p75_all[usable]
    ranged = np.isfinite(p75) & (p75 > 0)  # FIFO shows no percentiles
    summary: dict[str, Any] = {
        "estimates_compared": int(errors.size),
        "estimate_median_error": float(np.median(errors)) if some else None,
        "estimate_median_signed_error": float(np.median(signed)) if some else None,
        "estimate_p90_error": float(np.percentile(errors, 90)) if some else None,
        "estimate_median_error_unrounded": float(np.median(raw_errors)) if some else None,
        # Calibration: for random queueing waitTime is the median, so about half should be served within it.
        "estimate_served_within_share": float(np.mean(actual <= shown)) if some else None,
        "estimate_p75_compared": int(np.count_nonzero(ranged)),
        "estimate_served_within_p75_share": float(np.mean(actual[ranged] <= p75[ranged])) if ranged.any() else None,
    }
    pick = np.linspace(0, errors.size - 1, num=min(errors.size, 3_000)).astype(np.int64)
    points = {"actual_minutes": actual[pick].tolist(), "estimate_minutes": shown[pick].tolist()}
    if ranged.any():
        points["p75_minutes"] = np.where(ranged, p75, np.nan)[pick].tolist()
    return summary, points


def _order_points(arrival: metrics.IntArray, admitted: metrics.IntArray) -> dict[str, list[float]]:
    """An even sample of (arrival rank, admission rank) pairs for the order plot."""
    served = np.flatnonzero(admitted >= 0)
    if served.size == 0:
        return {"arrival_rank": [], "admission_rank": []}
    admission_rank = np.empty(served.size, dtype=np.int64)
    admission_rank[np.argsort(admitted[served], kind="stable")] = np.arange(served.size)
    pick = np.linspace(0, served.size - 1, num=min(served.size, 4_000)).astype(np.int64)
    return {"arrival_rank": pick.astype(float).tolist(), "admission_rank": admission_rank[pick].astype(float).tolist()}
