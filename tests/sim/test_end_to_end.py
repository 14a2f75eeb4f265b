"""A 5,000-visitor surge against the real core, checked against DESIGN section 5's bands."""

from __future__ import annotations

from typing import Any

import pytest

from antechamber.sim.analysis import analyse
from antechamber.sim.binding import real_core
from antechamber.sim.crowd import draw_crowd
from antechamber.sim.engine import simulate_crowd
from antechamber.sim.report import (
    CAPACITY_USE_MIN,
    ESTIMATE_ERROR_MAX,
    KENDALL_TAU_MAX,
    PEAK_ACTIVE_MAX,
)
from antechamber.sim.scenarios import SCENARIOS

SMALL = SCENARIOS["small"]


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    """The small scenario's headline numbers, simulated once for the module."""
    crowd = draw_crowd(SMALL.crowd, seed=1)
    record = simulate_crowd(SMALL.plan, crowd, SMALL.crowd, real_core(), int(SMALL.duration_minutes * 60_000), 1)
    return analyse(SMALL, record).summary


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
