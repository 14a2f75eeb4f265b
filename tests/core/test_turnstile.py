"""Turnstile: the core only carries the challenge flags; an infinite-queue visitor never gets in."""

from __future__ import annotations

from antechamber.core.types import Outcome, RequestFacts
from tests.core.harness import MINUTE, SECOND, Room, Visitor, room_config


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


CHALLENGED = RequestFacts(challenge=True)


def _guarded_room(action: str = "infinite_queue") -> Room:
    """A full room (one active user) that shows the challenge with ``action``."""
    room = Room(room_config(total_active_users=1, turnstile_mode="invisible", turnstile_action=action))
    room.visit(room.arrive()[0], CHALLENGED)
    return room


def _newcomer(room: Room) -> Visitor:
    visitor = Visitor()
    room.visit(visitor, CHALLENGED)
    return visitor


def test_infinite_queue_holds_newcomers_out_of_the_line_until_they_pass() -> None:
    """Under infinite_queue a queued newcomer gets the challenge and no place; passing it places them."""
    room = _guarded_room()
    visitor = _newcomer(room)
    assert visitor.ticket is not None and not visitor.ticket.placed
    assert room.snapshot().waiting == 0
    room.advance(20 * SECOND)
    assert room.visit(visitor, CHALLENGED).reason == "challenge"
    assert room.snapshot().waiting == 0
    assert visitor.ticket is not None
    visitor.ticket = visitor.ticket.with_flags(challenge_passed=True)
    room.advance(20 * SECOND)
    assert room.visit(visitor, CHALLENGED).reason == "queued"
    assert room.snapshot().waiting == 1


def test_log_mode_queues_as_usual() -> None:
    """Under log the challenge is shown but does not decide who is in line."""
    room = _guarded_room("log")
    visitor = _newcomer(room)
    assert visitor.ticket is not None and visitor.ticket.placed
    assert room.snapshot().waiting == 1


def test_without_a_runnable_challenge_nobody_is_held() -> None:
    """Where the page cannot run the challenge (plain HTTP), infinite_queue cannot ask for it."""
    room = _guarded_room()
    visitor = Visitor()
    room.visit(visitor)  # facts.challenge is False
    assert visitor.ticket is not None and visitor.ticket.placed


def test_free_room_admits_without_the_challenge() -> None:
    """The challenge guards the line; a visitor who finds room goes straight in."""
    room = Room(room_config(total_active_users=5, turnstile_mode="invisible", turnstile_action="infinite_queue"))
    visitor = _newcomer(room)
    assert visitor.admitted


def test_a_placed_visitor_gives_the_place_back_when_the_challenge_is_switched_on() -> None:
    """A visitor in line before infinite_queue was set leaves the waiting count until they pass."""
    room = _guarded_room("log")
    visitor = _newcomer(room)
    assert room.snapshot().waiting == 1
    room.config = room_config(total_active_users=1, turnstile_mode="invisible", turnstile_action="infinite_queue")
    room.advance(20 * SECOND)
    assert room.visit(visitor, CHALLENGED).reason == "challenge"
    assert room.snapshot().waiting == 0


def test_queue_all_holds_unchallenged_visitors_too() -> None:
    """queue_all under infinite_queue: the line is only for visitors who passed."""
    room = Room(
        room_config(total_active_users=5, queue_all=True, turnstile_mode="invisible", turnstile_action="infinite_queue")
    )
    visitor = _newcomer(room)
    assert visitor.ticket is not None and not visitor.ticket.placed
    assert room.snapshot().waiting == 0


def _infinite_bot(room: Room) -> Visitor:
    (bot,) = room.arrive()
    assert bot.ticket is not None
    bot.ticket = bot.ticket.with_flags(infinite_queue=True)
    return bot


def test_infinite_queue_looks_like_queue_all_under_queue_all() -> None:
    """Under queue_all real visitors see no estimate, so the infinite queue shows none either."""
    room = Room(room_config(total_active_users=1, queue_all=True))
    bot = _infinite_bot(room)
    room.advance(20 * SECOND)
    decision = room.visit(bot)
    assert decision.reason == "infinite" and decision.info is not None
    assert decision.info.to_json_dict()["waitTimeKnown"] is False


def test_infinite_queue_shows_the_reject_page_under_reject() -> None:
    """Under the reject method real newcomers get the reject page; so does the infinite queue."""
    room = Room(room_config(total_active_users=1))
    room.arrive()
    bot = _infinite_bot(room)  # flagged while the room queued
    room.config = room_config(total_active_users=1, queueing_method="reject")
    room.advance(20 * SECOND)
    decision = room.visit(bot)
    assert decision.outcome is Outcome.REJECT and decision.reason == "infinite"
