"""Turnstile: the core only carries the challenge flags; an infinite-queue visitor never gets in."""

from __future__ import annotations

from antechamber.core.types import Outcome
from tests.core.harness import MINUTE, SECOND, Room, room_config


def test_infinite_queue_never_admits_even_in_an_empty_room() -> None:
    """A visitor marked infinite-queue gets a real-looking queue response forever, with infiniteQueue true."""
    room = Room(room_config(total_active_users=1))
    room.arrive()
    (bot,) = room.arrive()
    assert bot.ticket is not None
    bot.ticket = bot.ticket.with_flags(infinite_queue=True)
    room.config = room_config(queueing_method="passthrough")  # even passthrough does not let it in
    for _ in range(30):
        room.advance(20 * SECOND)
        d = room.visit(bot)
        assert d.outcome is Outcome.QUEUE and d.reason == "infinite"
        assert d.info is not None and d.info.infinite_queue and d.info.refresh_interval_seconds == 20
        assert d.info.to_json_dict()["infiniteQueue"] is True


def test_infinite_queue_frees_the_real_place() -> None:
    """A visitor moved to the infinite queue stops counting as waiting, so it holds nobody up."""
    room = Room(room_config(total_active_users=1))
    room.arrive()
    (bot,) = room.arrive()
    assert room.snapshot().waiting == 1 and bot.ticket is not None
    bot.ticket = bot.ticket.with_flags(infinite_queue=True)
    room.advance(20 * SECOND)
    room.visit(bot)
    assert room.snapshot().waiting == 0
    room.advance(20 * SECOND)
    room.visit(bot)
    assert room.snapshot().waiting == 0


def test_infinite_queue_refreshes_keep_the_cookie_alive() -> None:
    """Counted refreshes of the infinite queue update lastUpdated so the cookie does not lapse."""
    room = Room(room_config(total_active_users=1))
    room.arrive()
    (bot,) = room.arrive()
    assert bot.ticket is not None
    bot.ticket = bot.ticket.with_flags(infinite_queue=True)
    room.advance(10 * MINUTE // 2)
    d = room.visit(bot)
    assert d.info is not None and d.info.last_updated_ms == room.now


def test_challenge_flag_is_carried_through_admission() -> None:
    """A passed challenge stays in the ticket through queueing and admission; it does not change the decision."""
    room = Room(room_config(total_active_users=1))
    room.arrive()
    (v,) = room.arrive()
    assert v.ticket is not None
    v.ticket = v.ticket.with_flags(challenge_passed=True)
    while not v.admitted:  # the first visitor's session ends after 5 minutes
        room.advance(20 * SECOND)
        room.visit(v)
    assert v.ticket.challenge_passed and not v.ticket.infinite_queue
    assert v.ticket.with_flags(challenge_passed=False).challenge_passed is False
