"""The event loop's mechanics, driven by a stand-in core so that they are tested on their own."""

from __future__ import annotations

from pathlib import Path

from antechamber.core.config import RoomSettings
from antechamber.sim.crowd import ABANDON, CrowdSpec, draw_crowd
from antechamber.sim.engine import RunRecord, load_record, save_record, simulate_crowd
from antechamber.sim.metrics import normalised_kendall_tau
from antechamber.sim.plan import RoomPlan
from tests.sim.fake_core import fake_core

SPEC = CrowdSpec(visitors=2_000, curve="flash", arrival_minutes=5, abandon_share=0.2, late_share=0.2)
PLAN = RoomPlan(RoomSettings("r", total_active_users=10_000, new_users_per_minute=200, session_duration=3))


def _run(seed: int = 3) -> RunRecord:
    return simulate_crowd(PLAN, draw_crowd(SPEC, seed), SPEC, fake_core(), 30 * 60_000, seed)


class TestSimulateCrowd:
    def test_same_seed_same_run(self) -> None:
        """A run is a pure function of its seed."""
        first, second = _run(), _run()
        assert first.admitted_ms == second.admitted_ms
        assert first.requests == second.requests

    def test_admits_in_budget_order(self) -> None:
        """With a FIFO stand-in, admission order strays from arrival order only by refresh timing."""
        record = _run()
        served = [(a, t) for a, t in zip(record.arrival_ms, record.admitted_ms, strict=True) if t >= 0]
        arrivals, admissions = zip(*served, strict=True)
        assert len(served) > 1_000
        assert normalised_kendall_tau(arrivals, admissions) < 0.02

    def test_abandoners_stop_refreshing(self) -> None:
        """Only visitors drawn as abandoners give up, and never after being admitted."""
        record = _run()
        crowd = draw_crowd(SPEC, 3)
        gave_up = [v for v, t in enumerate(record.abandoned_ms) if t >= 0]
        assert gave_up
        assert all(crowd.behaviour[v] == ABANDON and record.admitted_ms[v] < 0 for v in gave_up)

    def test_sessions_close_after_browsing(self) -> None:
        """Every admission opens one session interval, which ends after it starts."""
        record = _run()
        assert len(record.admissions_ms) == len(record.session_starts_ms) == len(record.session_ends_ms)
        assert all(end > start for start, end in zip(record.session_starts_ms, record.session_ends_ms, strict=True))

    def test_samples_cover_the_run(self) -> None:
        """The core is sampled every 10 virtual seconds from start to end."""
        record = _run()
        assert record.sample_ms[0] == 0
        assert record.sample_ms[-1] > record.end_ms - 10_000

    def test_record_survives_save_and_load(self, tmp_path: Path) -> None:
        """A saved record loads back field for field, so an analysis can be redone without re-simulating."""
        record = _run()
        record.code_version = "abc1234"
        save_record(record, tmp_path / "record.npz")
        loaded = load_record(tmp_path / "record.npz")
        assert record.admitted_ms == loaded.admitted_ms
        assert record.session_ends_ms == loaded.session_ends_ms
        assert (record.requests, "abc1234") == (loaded.requests, loaded.code_version)
