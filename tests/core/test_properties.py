"""Invariants under arbitrary traffic: hypothesis drives arrivals, refreshes, revisits and switches."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from antechamber.core.budget import free_slots, minute_cap
from antechamber.core.ticket import Ticket
from antechamber.core.types import (
    BUCKET_MS,
    PRESENT_MS,
    QUEUE_PLACE_HOLD_MS,
    REFRESH_BUCKET_MS,
    EventWindow,
    Outcome,
    RoomConfig,
)
from tests.core.harness import MINUTE, SECOND, Room, Visitor, room_config

MODES = ["fifo", "random", "passthrough", "reject", "queue_all", "prequeue"]


def _config(base: RoomConfig, mode: str, now_ms: int) -> RoomConfig:
    if mode == "queue_all":
        return replace(base, queue_all=True)
    if mode == "prequeue":
        window = EventWindow("ev", now_ms - MINUTE, now_ms + 10 * MINUTE, now_ms + 60 * MINUTE, True)
        return replace(base, event=window)
    return replace(base, queueing_method=mode)  # type: ignore[arg-type]


def _live_waiting(visitors: list[Visitor], now_ms: int) -> int:
    """Placed tickets whose refresh bucket has not been dropped: what the waiting counter must say."""
    return sum(
        1
        for v in visitors
        if v.ticket is not None
        and v.ticket.placed
        and (v.ticket.refresh_bucket + 1) * REFRESH_BUCKET_MS + QUEUE_PLACE_HOLD_MS > now_ms
    )


def _live_active(sessions: dict[int, list[Ticket]], now_ms: int) -> int:
    """Sessions whose expiry second has not passed: what the active counter must say.

    A session that expired earlier in the current second is still counted to
    the end of that second (the counters are per second), even if its visitor
    already came back as a new user, so each admission is tracked on its own.
    """
    now_s = now_ms // BUCKET_MS
    return sum(1 for chain in sessions.values() for t in chain if t.expires_ms // BUCKET_MS >= now_s)


step = st.tuples(
    st.integers(min_value=0, max_value=40_000),  # ms to advance
    st.integers(min_value=0, max_value=6),  # new arrivals
    st.floats(min_value=0, max_value=1),  # share of known visitors coming back
    st.sampled_from(MODES + ["same"] * 4),  # mode switch
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tau=st.integers(min_value=1, max_value=30),
    nupm=st.integers(min_value=1, max_value=60),
    session=st.integers(min_value=1, max_value=3),
    renewal_off=st.booleans(),
    first_mode=st.sampled_from(MODES),
    steps=st.lists(step, min_size=1, max_size=40),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_invariants_hold_under_any_traffic(
    tau: int,
    nupm: int,
    session: int,
    renewal_off: bool,
    first_mode: str,
    steps: list[tuple[int, int, float, str]],
    seed: int,
) -> None:
    """Counters match the cookies; nobody enters under queue_all, prequeue or reject; passthrough admits all;
    admissions respect both limits; an admitted FIFO user leaves no earlier present user outside the FIFO window."""
    base = room_config(
        total_active_users=tau, new_users_per_minute=nupm, session_duration=session, disable_session_renewal=renewal_off
    )
    room = Room(_config(base, first_mode, 0), seed=seed)
    mode = first_mode
    room.config = _config(base, mode, room.now)
    visitors: list[Visitor] = []
    sessions: dict[int, list[Ticket]] = {}  # per visitor, the latest ticket of each admission
    pick = random.Random(seed)
    for advance, arrivals, share, switch in steps:
        room.advance(advance)
        if switch != "same":
            mode = switch
            room.config = _config(base, mode, room.now)
        coming = [v for v in visitors if pick.random() < share] + [Visitor() for _ in range(arrivals)]
        visitors += coming[len(coming) - arrivals :] if arrivals else []
        for v in coming:
            had_session = v.ticket is not None and v.ticket.session_valid(room.now)
            pre = room.snapshot()
            d = room.visit(v)
            post = room.snapshot()
            if d.reason in ("admitted", "passthrough") and d.ticket is not None:
                sessions.setdefault(id(v), []).append(d.ticket)
            elif d.reason == "session" and d.ticket is not None:
                sessions[id(v)][-1] = d.ticket  # a renewal moves the session's count
            if had_session:
                assert d.outcome is Outcome.ORIGIN
                continue
            if mode in ("queue_all", "prequeue", "reject"):
                assert d.outcome is not Outcome.ORIGIN
            if mode == "passthrough":
                assert d.outcome is Outcome.ORIGIN
            if d.reason == "admitted":
                assert pre.active < tau and pre.admitted_last_minute < minute_cap(room.config)
                assert free_slots(room.config, pre, room.now) >= 1
                if mode == "fifo":
                    _assert_earlier_users_fit(visitors, v, room, post)
        assert room.snapshot().waiting == _live_waiting(visitors, room.now)
        assert room.snapshot().active == _live_active(sessions, room.now)


def _assert_earlier_users_fit(visitors: list[Visitor], admitted: Visitor, room: Room, post: object) -> None:
    """Every present queued user placed in an earlier second than the admitted one still fits the free slots.

    Users who stopped refreshing keep their place but reserve nothing while away.
    """
    assert admitted.ticket is not None
    snap = room.snapshot()
    window = free_slots(room.config, snap, room.now)
    for other in visitors:
        t = other.ticket
        present = t is not None and (t.refresh_bucket + 1) * REFRESH_BUCKET_MS + PRESENT_MS > room.now
        if t is not None and t.placed and present and t.position_s < admitted.ticket.position_s:
            assert snap.queue.ahead(t.position_s) < window


@settings(max_examples=60, deadline=None)
@given(
    tau=st.integers(min_value=5, max_value=200), surge=st.integers(min_value=1, max_value=600), seed=st.integers(0, 999)
)
def test_active_never_exceeds_the_limit_in_a_surge(tau: int, surge: int, seed: int) -> None:
    """In a surge with everyone refreshing every 20 s and sessions renewing, active stays ≤ total_active_users."""
    room = Room(room_config(total_active_users=tau, new_users_per_minute=max(tau, 200), session_duration=1), seed=seed)
    visitors = room.arrive(surge)
    for _ in range(12):
        room.advance(20 * SECOND)
        for v in visitors:
            room.visit(v)  # queued users refresh, admitted ones renew
        assert room.snapshot().active <= tau


@settings(max_examples=200, deadline=None)
@given(
    tau=st.integers(min_value=0, max_value=3),
    nupm=st.integers(min_value=0, max_value=3),
    session=st.integers(min_value=0, max_value=2),
    mode=st.sampled_from(MODES),
    gaps=st.lists(st.integers(min_value=0, max_value=400_000), max_size=8),
)
def test_degenerate_limits_never_raise(tau: int, nupm: int, session: int, mode: str, gaps: list[int]) -> None:
    """Zero or tiny limits (an operator may lower the minimums) give decisions, never exceptions."""
    base = room_config(total_active_users=tau, new_users_per_minute=nupm, session_duration=session)
    room = Room(_config(base, mode, 0))
    room.config = _config(base, mode, room.now)
    visitors = room.arrive(3)
    for gap in gaps:
        room.advance(gap)
        for v in visitors:
            d = room.visit(v)
            assert d.outcome in Outcome
            if d.info is not None:
                d.info.to_json_dict()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["random", "fifo"]),
    nupm=st.integers(min_value=20, max_value=600),
    tau=st.integers(min_value=50, max_value=100_000),
    steps=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=3_000),  # ms to advance
            st.integers(min_value=0, max_value=40),  # new arrivals
            st.floats(min_value=0, max_value=1),  # share of queued visitors coming back
        ),
        min_size=20,
        max_size=80,
    ),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_no_60_seconds_admit_more_than_the_minute_cap(
    method: str, nupm: int, tau: int, steps: list[tuple[int, int, float]], seed: int
) -> None:
    """Whatever the arrivals, no 60 consecutive seconds admit more than the minute cap (random: 1.02 × nupm)."""
    config = room_config(queueing_method=method, total_active_users=tau, new_users_per_minute=nupm, session_duration=1)
    room = Room(config, seed=seed)
    visitors: list[Visitor] = []
    per_second: Counter[int] = Counter()
    pick = random.Random(seed)
    for advance, arrivals, share in steps:
        room.advance(advance)
        back = [v for v in visitors if not v.admitted and pick.random() < share][:20]
        new = [Visitor() for _ in range(arrivals)]
        visitors += new
        for v in back + new:
            if room.visit(v).reason == "admitted":
                per_second[room.now // SECOND] += 1
    cap = minute_cap(config)
    if method == "random":
        assert cap <= 1.02 * nupm
    for first in per_second:
        assert sum(per_second[s] for s in range(first, first + 60)) <= cap
