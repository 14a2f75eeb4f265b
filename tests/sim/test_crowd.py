"""Arrival curves and per-visitor behaviour draws."""

from __future__ import annotations

import numpy as np
import pytest

from antechamber.sim.crowd import ABANDON, LATE, ON_TIME, CrowdSpec, draw_crowd


def _per_minute(spec: CrowdSpec) -> np.ndarray:
    crowd = draw_crowd(spec, seed=11)
    return np.bincount(crowd.arrival_ms // 60_000, minlength=int(spec.arrival_minutes))


class TestArrivalCurves:
    def test_arrivals_sorted_inside_the_span(self) -> None:
        """Visitor numbers are arrival order and every arrival falls inside the span."""
        crowd = draw_crowd(CrowdSpec(visitors=10_000, curve="ramp", arrival_minutes=10), seed=1)
        assert np.all(np.diff(crowd.arrival_ms) >= 0)
        assert 0 <= crowd.arrival_ms[0] and crowd.arrival_ms[-1] < 10 * 60_000

    def test_flash_front_loads(self) -> None:
        """A flash crowd brings most visitors in the first minutes, then decays."""
        counts = _per_minute(CrowdSpec(visitors=100_000, curve="flash", arrival_minutes=30, flash_decay_minutes=3))
        assert counts[:6].sum() > 0.7 * counts.sum()
        assert counts[1] > counts[5] > counts[15]

    def test_ramp_rises_linearly(self) -> None:
        """A steady ramp's last minutes are far busier than its first, and rises every quarter."""
        counts = _per_minute(CrowdSpec(visitors=100_000, curve="ramp", arrival_minutes=40))
        quarters = counts.reshape(4, 10).sum(axis=1)
        assert np.all(np.diff(quarters) > 0)
        assert counts[-1] > 10 * counts[0]

    def test_event_builds_then_spikes_at_start(self) -> None:
        """The prequeue builds up and the busiest minute is the one the event starts in."""
        counts = _per_minute(CrowdSpec(visitors=100_000, curve="event", arrival_minutes=60, event_start_minute=30))
        assert counts[25] > counts[2]
        assert 30 == int(np.argmax(counts))

    def test_steady_is_flat(self) -> None:
        """A steady curve brings the same number every minute, give or take noise."""
        counts = _per_minute(CrowdSpec(visitors=60_000, curve="steady", arrival_minutes=10))
        assert counts.min() > 0.9 * counts.mean()


class TestBehaviour:
    def test_shares_and_determinism(self) -> None:
        """Behaviour shares follow the spec, and the same seed draws the same crowd."""
        spec = CrowdSpec(visitors=50_000, curve="steady", arrival_minutes=5, late_share=0.2, abandon_share=0.1)
        crowd = draw_crowd(spec, seed=4)
        shares = np.bincount(crowd.behaviour, minlength=3) / spec.visitors
        assert [0.7, 0.2, 0.1] == pytest.approx(shares[[ON_TIME, LATE, ABANDON]].tolist(), abs=0.01)
        assert np.array_equal(crowd.browse_ms, draw_crowd(spec, seed=4).browse_ms)

    def test_browse_time_mean(self) -> None:
        """Admitted visitors browse for the configured mean time."""
        crowd = draw_crowd(CrowdSpec(visitors=50_000, curve="steady", arrival_minutes=5, browse_minutes=3), seed=2)
        assert 3 * 60_000 == pytest.approx(crowd.browse_ms.mean(), rel=0.03)
