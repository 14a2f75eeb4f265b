"""The post-run measures: inversion counts, Kendall tau, interval counting, estimate errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau

from antechamber.sim import metrics


def _brute_inversions(values: list[int]) -> int:
    return sum(1 for i in range(len(values)) for j in range(i + 1, len(values)) if values[i] > values[j])


class TestCountInversions:
    @pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 64, 257])
    def test_matches_brute_force_on_permutations(self, n: int) -> None:
        """Random permutations of any length, including non-powers of two, count every inversion."""
        values = np.random.default_rng(n).permutation(n).tolist()
        assert _brute_inversions(values) == metrics.count_inversions(values)

    def test_ties_are_not_inversions(self) -> None:
        """Equal values never count as an inverted pair."""
        values = np.random.default_rng(5).integers(0, 4, size=120).tolist()
        assert _brute_inversions(values) == metrics.count_inversions(values)

    def test_extremes(self) -> None:
        """Sorted input has none; reversed input has every pair."""
        assert 0 == metrics.count_inversions(list(range(100)))
        assert 100 * 99 // 2 == metrics.count_inversions(list(range(100, 0, -1)))


class TestNormalisedKendallTau:
    def test_agrees_with_scipy_without_ties(self) -> None:
        """Discordant ÷ all pairs equals (1 − scipy's tau) / 2 when nothing ties."""
        rng = np.random.default_rng(7)
        first = rng.permutation(20_000)
        second = first + rng.normal(0, 500, size=first.size)
        expected = (1 - kendalltau(first, second).statistic) / 2
        assert expected == pytest.approx(metrics.normalised_kendall_tau(first, second), rel=1e-9)

    def test_identical_and_reversed_orders(self) -> None:
        """The same order scores 0, the reversed order 1."""
        order = np.arange(1_000)
        assert 0.0 == metrics.normalised_kendall_tau(order, order)
        assert 1.0 == metrics.normalised_kendall_tau(order, order[::-1])

    def test_random_order_scores_one_half(self) -> None:
        """An unrelated order is discordant on about half the pairs."""
        shuffled = np.random.default_rng(3).permutation(50_000)
        assert 0.5 == pytest.approx(metrics.normalised_kendall_tau(np.arange(50_000), shuffled), abs=0.01)

    def test_ties_in_first_key_are_never_discordant(self) -> None:
        """Items arriving together may be admitted in any order without counting against FIFO."""
        assert 0.0 == metrics.normalised_kendall_tau([1, 1, 1, 2], [3, 2, 1, 4])


class TestIntervals:
    def test_step_count_is_half_open(self) -> None:
        """An interval [start, end) counts at its start and not at its end."""
        starts = np.array([0, 5, 5])
        ends = np.array([10, 6, 20])
        assert [1, 3, 2, 2, 1, 0] == metrics.step_count(np.array([0, 5, 6, 10 - 1, 10, 20]), starts, ends).tolist()

    def test_peak_overlap_touching_intervals(self) -> None:
        """An interval ending when another starts does not overlap it."""
        assert 1 == metrics.peak_overlap(np.array([0, 10]), np.array([10, 20]))
        assert 2 == metrics.peak_overlap(np.array([0, 9]), np.array([10, 20]))

    def test_events_in_window_excludes_the_left_edge(self) -> None:
        """The window is (t − w, t]."""
        assert [1, 2, 1] == metrics.events_in_window(np.array([0, 59, 60]), np.array([0, 30]), 60).tolist()

    def test_peak_in_any_window_counts_every_real_interval(self) -> None:
        """The busiest [t, t + w) over every real t, which windows ending on a grid can miss."""
        events = np.array([990, 995, 1_500, 60_400, 60_900, 61_100])
        assert 5 == metrics.peak_in_any_window(events, 60_000)  # [990, 60_990): all but the last
        assert 3 == int(metrics.events_in_window(np.arange(0, 70_000, 1_000), events, 60_000).max())
        assert 0 == metrics.peak_in_any_window(np.array([], dtype=np.int64), 60_000)


class TestRelativeErrors:
    def test_floors_actual_wait_at_one_minute(self) -> None:
        """Sub-minute waits are compared against one minute, the estimate's resolution."""
        errors = metrics.relative_errors(np.array([1.0, 12.0, 0.0]), np.array([0.2, 10.0, 0.5]))
        assert [0.8, 0.2, 0.5] == pytest.approx(errors.tolist())
