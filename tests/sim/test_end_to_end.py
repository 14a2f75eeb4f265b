"""A 5,000-visitor surge against the real core, checked against DESIGN section 5's bands."""

from __future__ import annotations

from typing import Any

import pytest

from antechamber.sim.analysis import analyse
from antechamber.sim.binding import real_core
from antechamber.sim.cli import customise
from antechamber.sim.crowd import draw_crowd
from antechamber.sim.engine import simulate_crowd
from antechamber.sim.report import (
    CAPACITY_USE_MIN,
    ESTIMATE_ERROR_MAX,
    KENDALL_TAU_MAX,
    P75_WITHIN_MAX,
    P75_WITHIN_MIN,
    PEAK_ACTIVE_MAX,
    PEAK_ADMISSIONS_MAX,
)
from antechamber.sim.scenarios import SCENARIOS, Scenario

SMALL = SCENARIOS["small"]


def _run(scenario: Scenario) -> dict[str, Any]:
    crowd = draw_crowd(scenario.crowd, seed=1)
    duration_ms = int(scenario.duration_minutes * 60_000)
    return analyse(scenario, simulate_crowd(scenario.plan, crowd, scenario.crowd, real_core(), duration_ms, 1)).summary


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    """The small scenario's headline numbers, simulated once for the module."""
    return _run(SMALL)


@pytest.fixture(scope="module")
def random_summary() -> dict[str, Any]:
    """The small scenario with random queueing."""
    return _run(customise(SMALL, {"queueing_method": "random"}))


@pytest.fixture(scope="module")
def active_bound_summary() -> dict[str, Any]:
    """The small scenario with new_users_per_minute out of the way, so that total_active_users binds."""
    return _run(customise(SMALL, {"new_users_per_minute": 5000}))


class TestSmallSurge:
    def test_everyone_patient_is_served(self, summary: dict[str, Any]) -> None:
        """Every visitor who did not give up got in before the run ended."""
        assert 0 == summary["still_waiting_at_end"]
        assert summary["admitted"] + summary["abandoned"] == summary["visitors"]

    def test_a_queue_formed(self, summary: dict[str, Any]) -> None:
        """The crowd is big enough that most visitors had to wait (otherwise nothing is tested)."""
        assert summary["queued"] > 0.8 * summary["visitors"]

    def test_peak_active_within_two_percent(self, summary: dict[str, Any]) -> None:
        """Active users never exceed total_active_users × 1.02."""
        assert summary["peak_active_ratio"] <= PEAK_ACTIVE_MAX

    def test_capacity_used_while_people_wait(self, summary: dict[str, Any]) -> None:
        """While a queue stands, at least 97 % of the binding limit is in use."""
        assert summary["capacity_use_mean"] >= CAPACITY_USE_MIN

    def test_fifo_order(self, summary: dict[str, Any]) -> None:
        """Admission order follows arrival order: normalised Kendall tau ≤ 0.01."""
        assert summary["kendall_tau"] <= KENDALL_TAU_MAX

    def test_wait_estimates(self, summary: dict[str, Any]) -> None:
        """The wait shown on arrival is within 15 % of the wait served, at the median."""
        assert summary["estimates_compared"] > 0.5 * summary["queued"]
        assert summary["estimate_median_error"] <= ESTIMATE_ERROR_MAX

    def test_state_memory_is_small(self, summary: dict[str, Any]) -> None:
        """A few thousand queued visitors take kilobytes of room state, not megabytes."""
        assert 0 < summary["state_memory_peak_bytes"] < 1024 * 1024

    def test_sampled_cookies_survive_the_codec(self, summary: dict[str, Any]) -> None:
        """Tickets the simulation produces seal and open unchanged with the real cookie codec."""
        assert summary["cookies_checked"] > 100
        assert 0 == summary["cookie_mismatches"]


class TestRandomSmallSurge:
    def test_no_60_whole_seconds_pass_the_cap(self, random_summary: dict[str, Any]) -> None:
        """Random queueing admits at most 1.02 × new_users_per_minute in any 60 whole seconds."""
        assert random_summary["peak_admissions_per_minute_ratio"] <= PEAK_ADMISSIONS_MAX

    def test_capacity_used_while_people_wait(self, random_summary: dict[str, Any]) -> None:
        """The exact cap still leaves at least 97 % of the budget in use while a queue stands."""
        assert random_summary["capacity_use_mean"] >= CAPACITY_USE_MIN

    def test_75th_percentile_is_calibrated(self, random_summary: dict[str, Any]) -> None:
        """Between 65 % and 85 % of visitors are admitted within the waitTime75Percentile they were shown."""
        assert random_summary["estimate_p75_compared"] > 0.5 * random_summary["queued"]
        assert P75_WITHIN_MIN <= random_summary["estimate_served_within_p75_share"] <= P75_WITHIN_MAX


class TestActiveBoundSmallSurge:
    def test_active_users_bind(self, active_bound_summary: dict[str, Any]) -> None:
        """The room fills up: total_active_users, not the budget, is the limit (otherwise nothing is tested)."""
        assert active_bound_summary["peak_active_ratio"] >= 0.99
        assert active_bound_summary["peak_admissions_per_minute_ratio"] < 0.5

    def test_wait_estimates(self, active_bound_summary: dict[str, Any]) -> None:
        """When sessions ending set the pace, the wait shown is within 15 % of the wait served, at the median."""
        assert active_bound_summary["estimate_median_error"] <= ESTIMATE_ERROR_MAX
