"""The random queueing method: one lottery draw per counted refresh with odds free / waiting."""

from __future__ import annotations

import random

from scipy import stats

from antechamber.core.counters import RoomSnapshot
from antechamber.core.decide import decide
from antechamber.core.ticket import FLAG_PLACED, Ticket
from antechamber.core.types import Outcome
from tests.core.harness import NO_FACTS, SECOND, T0, Room, Visitor, room_config


def test_each_draw_wins_with_odds_free_over_waiting_per_half_interval() -> None:
    """With 10 free slots and 200 present users drawing every 20 s, a draw wins 10 % of the time.

    The odds hand the free slots out within 10 s (twice free / waiting), so
    they do not sit unclaimed while the next budget arrives.
    """
    cfg = room_config(queueing_method="random", total_active_users=1000, new_users_per_minute=1000)
    snap = RoomSnapshot(now_ms=T0, active=990, waiting=200, present=200)
    ticket = Ticket(arrival_ms=T0 - 60 * SECOND, position_s=0, rank=1, refresh_ms=T0 - 30 * SECOND, flags=FLAG_PLACED)
    rng = random.Random(11)
    wins = sum(decide(cfg, snap, ticket, NO_FACTS, T0, rng).outcome is Outcome.ORIGIN for _ in range(4000))
    assert stats.binomtest(wins, 4000, 2 * 10 / 200).pvalue > 0.01


def test_no_draw_is_won_without_free_slots() -> None:
    """When the room is full, no refresh of a random queue is admitted."""
    cfg = room_config(queueing_method="random", total_active_users=100)
    snap = RoomSnapshot(now_ms=T0, active=100, waiting=5, present=5)
    ticket = Ticket(arrival_ms=T0 - 60 * SECOND, position_s=0, rank=1, refresh_ms=T0 - 30 * SECOND, flags=FLAG_PLACED)
    rng = random.Random(2)
    assert all(decide(cfg, snap, ticket, NO_FACTS, T0, rng).outcome is Outcome.QUEUE for _ in range(200))


def _drain(method: str) -> list[int]:
    """400 users queue behind a full room, then refresh every 20 s; returns arrival indexes in admission order."""
    room = Room(room_config(queueing_method=method, total_active_users=20, session_duration=1), seed=4)
    room.arrive(20)
    visitors: list[Visitor] = []
    for _ in range(400):
        visitors += room.arrive()
        room.advance(50)
    index = {id(v): i for i, v in enumerate(visitors)}
    order: list[int] = []
    shuffler = random.Random(4)
    while len(order) < len(visitors):
        room.advance(20 * SECOND)
        pending = [v for v in visitors if not v.admitted]
        shuffler.shuffle(pending)
        order += [index[id(v)] for v in room.refresh_all(pending)]
    return order


def test_random_order_ignores_arrival_and_fifo_follows_it() -> None:
    """Under random the admission order is uncorrelated with arrival; under FIFO it follows arrival."""
    rho_random = stats.spearmanr(range(400), _drain("random")).statistic
    rho_fifo = stats.spearmanr(range(400), _drain("fifo")).statistic
    assert abs(rho_random) < 0.2
    assert rho_fifo > 0.95
