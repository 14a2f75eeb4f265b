"""Parallel requests carrying one cookie are counted once (a page and its assets load together)."""

from __future__ import annotations

import random

from antechamber.core.decide import decide
from antechamber.core.types import MINUTE_MS, Outcome, RequestFacts, RoomConfig
from antechamber.state.memory import MemoryState

NOW = 1_800_000_000_000
ROOM = "r"
FACTS = RequestFacts()


def config(**overrides: object) -> RoomConfig:
    """A room with the smallest limits, so one visitor's count shows."""
    values: dict[str, object] = {
        "room_id": ROOM,
        "total_active_users": 200,
        "new_users_per_minute": 200,
        "session_duration": 5,
    }
    values.update(overrides)
    return RoomConfig(**values)  # type: ignore[arg-type]


def parallel(state: MemoryState, cfg: RoomConfig, ticket: object, now_ms: int, n: int) -> list[object]:
    """n requests with the same cookie decided against the state one after another at one instant."""
    rng = random.Random(1)
    decisions = []
    for _ in range(n):
        decision = decide(cfg, state.snapshot(ROOM, now_ms), ticket, FACTS, now_ms, rng)  # type: ignore[arg-type]
        state.apply(ROOM, decision.deltas, now_ms)
        decisions.append(decision)
    return decisions


def test_parallel_renewals_count_one_session() -> None:
    """64 requests renewing one session at once leave one active user, also after the old expiry passes."""
    state, cfg = MemoryState(), config()
    [first] = parallel(state, cfg, None, NOW, 1)
    assert Outcome.ORIGIN == first.outcome  # type: ignore[attr-defined]
    later = NOW + 60_000  # renewal due: the expiry moves a minute on
    renewals = parallel(state, cfg, first.ticket, later, 64)  # type: ignore[attr-defined]
    assert all(d.outcome is Outcome.ORIGIN for d in renewals)  # type: ignore[attr-defined]
    assert 1 == state.snapshot(ROOM, later).active
    past_old_expiry = NOW + 5 * MINUTE_MS + 1_000
    assert 1 == state.snapshot(ROOM, past_old_expiry).active


def test_distinct_sessions_sharing_an_expiry_second_all_renew() -> None:
    """Two visitors admitted in the same second each move their own count on renewal."""
    state, cfg = MemoryState(), config()
    [a] = parallel(state, cfg, None, NOW, 1)
    [b] = parallel(state, cfg, None, NOW, 1)
    later = NOW + 60_000
    parallel(state, cfg, a.ticket, later, 1)  # type: ignore[attr-defined]
    parallel(state, cfg, b.ticket, later, 1)  # type: ignore[attr-defined]
    assert 2 == state.snapshot(ROOM, NOW + 5 * MINUTE_MS + 1_000).active


def test_parallel_admissions_out_of_the_queue_count_once() -> None:
    """A queued visitor whose turn comes, refreshing with several requests at once, is admitted once."""
    state = MemoryState()
    [queued] = parallel(state, config(queue_all=True), None, NOW, 1)
    assert Outcome.QUEUE == queued.outcome  # type: ignore[attr-defined]
    assert 1 == state.snapshot(ROOM, NOW).waiting
    later = NOW + 20_000
    admitted = parallel(state, config(), queued.ticket, later, 8)  # type: ignore[attr-defined]
    assert all(d.outcome is Outcome.ORIGIN for d in admitted)  # type: ignore[attr-defined]
    snap = state.snapshot(ROOM, later)
    assert (1, 0, 1) == (snap.active, snap.waiting, snap.admitted_last_minute)


def test_parallel_counted_refreshes_keep_one_place() -> None:
    """Several counted refreshes of one queued cookie at once leave exactly one place in line."""
    state = MemoryState()
    [queued] = parallel(state, config(queue_all=True), None, NOW, 1)
    later = NOW + 30_000
    parallel(state, config(queue_all=True), queued.ticket, later, 8)  # type: ignore[attr-defined]
    snap = state.snapshot(ROOM, later)
    assert (1, 1) == (snap.waiting, snap.present)


def test_repeated_revocation_frees_one_slot() -> None:
    """The same session revoked three times (a replayed cookie) lowers the active count once.

    Counters know slots, not people: the guard holds while no other session ends in the
    same second, which is why the second visitor comes a second later here.
    """
    from antechamber.core.counters import Deltas

    state, cfg = MemoryState(), config()
    [a] = parallel(state, cfg, None, NOW, 1)
    parallel(state, cfg, None, NOW + 1_000, 1)
    revoke = Deltas(active=((a.ticket.expires_ms // 1000, -1),), moves_visitor=True)  # type: ignore[attr-defined]
    state.apply(ROOM, revoke, NOW)
    state.apply(ROOM, revoke, NOW)
    state.apply(ROOM, revoke, NOW)
    assert 1 == state.snapshot(ROOM, NOW).active


def test_merged_batches_are_never_taken_for_repeats() -> None:
    """Deltas without moves_visitor (a merged batch) always apply, even if shaped like a renewal."""
    from antechamber.core.counters import Deltas

    state = MemoryState()
    s = NOW // 1000
    state.apply(ROOM, Deltas(active=((s + 10, -1), (s + 20, 1))), NOW)
    assert 0 == state.snapshot(ROOM, NOW).active  # -1 and +1 both applied
    assert 1 == state.snapshot(ROOM, NOW + 15_000).active
