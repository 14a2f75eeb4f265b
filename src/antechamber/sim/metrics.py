"""Measures computed after a run from what each simulated visitor saw.

All of them work on whole numpy arrays: a million visitors take seconds.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def count_inversions(values: npt.ArrayLike) -> int:
    """Pairs ``i < j`` with ``values[i] > values[j]`` (ties are not inversions), in O(n log² n).

    A bottom-up merge sort, one numpy pass per level: at each level every
    right-hand block counts the left-hand elements greater than each of its
    members with one global ``searchsorted``, then the pair is sorted together.
    """
    ranks = _dense_ranks(np.asarray(values))
    n = ranks.size
    if n < 2:
        return 0
    index = np.arange(n, dtype=np.int64)
    inversions = 0
    width = 1
    while width < n:
        pair = index // (2 * width)
        is_left = (index % (2 * width)) < width
        # Offsetting each value by its pair number makes one sorted array out of all blocks.
        keys = pair * (n + 1) + ranks
        left_keys = keys[is_left]
        right_keys = keys[~is_left]
        left_start = np.searchsorted(left_keys, pair[~is_left] * (n + 1), side="left")
        left_end = np.searchsorted(left_keys, (pair[~is_left] + 1) * (n + 1), side="left")
        not_greater = np.searchsorted(left_keys, right_keys, side="right") - left_start
        inversions += int(np.sum(left_end - left_start - not_greater))
        ranks = np.sort(keys) - pair * (n + 1)
        width *= 2
    return inversions


def _dense_ranks(values: npt.NDArray[np.generic]) -> IntArray:
    """Equal values get equal ranks, so that ties never count as inversions."""
    _, inverse = np.unique(values, return_inverse=True)
    return np.asarray(inverse, dtype=np.int64).reshape(-1)


def normalised_kendall_tau(first_order_key: npt.ArrayLike, second_order_key: npt.ArrayLike) -> float:
    """Discordant pairs ÷ all pairs between two orderings of the same items (0 = same order).

    Pairs tied in ``first_order_key`` are ordered by ``second_order_key`` and so
    never count as discordant; pairs tied in the second key do not count either.
    """
    first = np.asarray(first_order_key)
    second = np.asarray(second_order_key)
    n = first.size
    if n < 2:
        return 0.0
    order = np.lexsort((second, first))
    discordant = count_inversions(second[order])
    return discordant / (n * (n - 1) / 2)


def step_count(times: IntArray | FloatArray, starts: IntArray, ends: IntArray) -> IntArray:
    """How many ``[start, end)`` intervals contain each of ``times``."""
    started = np.searchsorted(np.sort(starts), times, side="right")
    ended = np.searchsorted(np.sort(ends), times, side="right")
    return np.asarray(started - ended, dtype=np.int64)


def peak_overlap(starts: IntArray, ends: IntArray) -> int:
    """The exact maximum number of ``[start, end)`` intervals open at one instant."""
    if starts.size == 0:
        return 0
    times = np.concatenate((starts, ends))
    # Ends sort before starts at the same instant: an interval is open on [start, end).
    steps = np.concatenate((np.ones(starts.size, np.int64), -np.ones(ends.size, np.int64)))
    order = np.lexsort((steps, times))
    return int(np.max(np.cumsum(steps[order])))


def events_in_window(times: IntArray, event_times: IntArray, window_ms: int) -> IntArray:
    """How many of ``event_times`` fall in ``(t - window, t]`` for each ``t`` in ``times``."""
    ordered = np.sort(event_times)
    upto = np.searchsorted(ordered, times, side="right")
    before = np.searchsorted(ordered, times - window_ms, side="right")
    return np.asarray(upto - before, dtype=np.int64)


def peak_in_any_window(event_times: IntArray, window_ms: int) -> int:
    """The most of ``event_times`` that any interval ``[t, t + window)`` holds, over every real ``t``.

    The busiest interval can always be moved to start at one of the events, so
    it is enough to count forward from each of them.
    """
    if event_times.size == 0:
        return 0
    ordered = np.sort(event_times)
    ends = np.searchsorted(ordered, ordered + window_ms, side="left")
    return int(np.max(ends - np.arange(ordered.size)))


def per_minute_counts(event_times: IntArray, minutes: int) -> IntArray:
    """Counts of ``event_times`` (ms from the start) in each whole minute ``0 .. minutes - 1``."""
    counts = np.bincount((event_times // 60_000).astype(np.int64), minlength=minutes)
    return np.asarray(counts[:minutes], dtype=np.int64)


def capacity_use(
    active: IntArray,
    admitted_last_minute: IntArray,
    waiting_mask: npt.NDArray[np.bool_],
    total_active_users: int,
    new_users_per_minute: int,
) -> FloatArray:
    """Per sample, the share of the binding limit in use: the larger of the two ratios.

    Only samples in ``waiting_mask`` are returned: when nobody waits, unused
    capacity is the crowd's choice, not the room's.
    """
    use = np.maximum(active / total_active_users, admitted_last_minute / new_users_per_minute)
    return np.asarray(use[waiting_mask], dtype=np.float64)


def relative_errors(estimate_minutes: FloatArray, actual_minutes: FloatArray) -> FloatArray:
    """``|estimate - actual| / actual`` with the actual wait floored at one minute.

    The estimate is shown in whole minutes, so below a minute the ratio would
    measure rounding rather than the estimator.
    """
    return np.asarray(np.abs(estimate_minutes - actual_minutes) / np.maximum(actual_minutes, 1.0), dtype=np.float64)
