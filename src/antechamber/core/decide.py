"""The decision: what to do with one request to a room.

Pure: the clock (``now_ms``), the randomness (``rng``) and the room's counters
(``snapshot``) come in as arguments, and the counter changes go out in the
decision for the caller to apply. Order of checks: suspended → bypass → valid
session → infinite queue → queue_all → event prequeue → queueing method →
admission.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from antechamber.core.budget import free_slots
from antechamber.core.counters import NO_DELTAS, Deltas, RoomSnapshot
from antechamber.core.estimate import outflow_per_minute
from antechamber.core.info import QueueInfo, Wait, build_info, queue_is_full
from antechamber.core.ticket import FLAG_NO_RENEW, FLAG_PLACED, FLAG_SHUFFLED, Ticket, event_tag
from antechamber.core.types import (
    BUCKET_MS,
    MINUTE_MS,
    PRESENT_MS,
    REFRESH_BUCKET_MS,
    REFRESH_INTERVAL_MS,
    RENEW_STEP_MS,
    Outcome,
    Random,
    RequestFacts,
    RoomConfig,
)

Reason = Literal[
    "suspended",  # room suspended: straight to origin, no cookie
    "bypass",  # a bypass rule or verified crawler matched
    "session",  # valid session
    "passthrough",  # admitted by the passthrough method
    "admitted",  # admitted from the queue (or straight in)
    "queued",  # counted refresh, not admitted
    "early",  # refresh sooner than 20 s after the last counted one: not counted (FIFO: in if it is its turn)
    "full",  # queue full: no place yet
    "queue_all",  # queue_all: held
    "prequeue",  # event prequeue: held
    "reject",  # reject method
    "infinite",  # failed the challenge under infinite_queue
    "websocket",  # WebSocket upgrade without a valid session
    "draw",  # its turn, but this node's share is spent: draw from the shared pool, then decide again
    "challenge",  # under infinite_queue: shown the challenge, in the real line only after passing it
]


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome, the cookie to set (None = set none), the counter changes and the page fields.

    ``info`` is present for ``QUEUE`` and ``REJECT`` outcomes.
    """

    outcome: Outcome
    ticket: Ticket | None
    deltas: Deltas
    info: QueueInfo | None
    reason: Reason


_SUSPENDED = Decision(Outcome.BYPASS, None, NO_DELTAS, None, "suspended")
_BYPASS = Decision(Outcome.BYPASS, None, NO_DELTAS, None, "bypass")


def decide(
    config: RoomConfig,
    snapshot: RoomSnapshot,
    ticket: Ticket | None,
    facts: RequestFacts,
    now_ms: int,
    rng: Random,
) -> Decision:
    """Decide one request.

    Args:
        config: the room's effective configuration (see ``effective_config``).
        snapshot: the room's counters, read at (or shortly before) ``now_ms``.
        ticket: the opened cookie, or None when missing or invalid.
        facts: what the gateway learned from the request.
        now_ms: the current time, ms since the epoch.
        rng: random source for the rank of new users and random-queue draws.
    """
    if config.suspended:
        return _SUSPENDED
    if facts.bypass:
        return _BYPASS
    if ticket is not None:
        if ticket.session_valid(now_ms):
            return _renew(config, ticket, now_ms)
        if ticket.infinite_queue:
            return _infinite(config, snapshot, ticket, now_ms, facts)
        if not ticket.queue_valid(now_ms):
            ticket = None
    counted = ticket is None or now_ms - ticket.refresh_ms >= REFRESH_INTERVAL_MS
    if ticket is None:
        ticket = _new_ticket(config, now_ms, rng)
    if facts.websocket:
        # An upgrade cannot show a page or carry the queue forward: only a valid session passes.
        info = build_info(config, snapshot, ticket, now_ms, Wait.ESTIMATE)
        return Decision(Outcome.QUEUE, ticket if ticket.refresh_ms else None, NO_DELTAS, info, "websocket")
    event = config.event
    challenge_first = _challenge_first(config, facts, ticket)
    if config.queue_all or (event is not None and now_ms < event.start_ms):
        reason: Reason = "queue_all" if config.queue_all else "prequeue"
        if counted and challenge_first:
            return _hold_for_challenge(config, snapshot, ticket, now_ms, Wait.UNKNOWN, NO_DELTAS)
        if counted:
            ticket, waiting = _place(ticket, now_ms)
            deltas = Deltas(waiting=waiting, moves_visitor=True) if waiting else NO_DELTAS
        else:
            deltas = NO_DELTAS
        return Decision(
            Outcome.QUEUE, ticket, deltas, build_info(config, snapshot, ticket, now_ms, Wait.UNKNOWN), reason
        )
    method = config.queueing_method
    if method == "passthrough":
        return _admit(config, ticket, now_ms, "passthrough", queue_open=False)
    if method == "reject":
        return _reject(config, snapshot, ticket, now_ms)
    if not counted:
        if method == "fifo" and ticket.placed:
            # The place is fixed by arrival, so coming back early cannot move a FIFO user
            # ahead; it only claims the slot sooner once its turn comes (the page tells
            # users whose turn is near to come back sooner than in 20 s).
            turn = _turn(config, snapshot, ticket, now_ms, rng, queue_open=True)
            if turn is not None:
                return turn
        rate = outflow_per_minute(config, snapshot)
        full = queue_is_full(config, snapshot, rate)
        info = build_info(config, snapshot, ticket, now_ms, Wait.ESTIMATE, full=full, rate=rate)
        return Decision(Outcome.QUEUE, ticket, NO_DELTAS, info, "early")
    return _attempt(config, snapshot, ticket, now_ms, rng, challenge_first=challenge_first)


def _challenge_first(config: RoomConfig, facts: RequestFacts, ticket: Ticket) -> bool:
    """Under ``infinite_queue`` a visitor joins the real line only after passing the challenge."""
    return (
        facts.challenge
        and config.turnstile_mode != "off"
        and config.turnstile_action == "infinite_queue"
        and not ticket.challenge_passed
    )


def _hold_for_challenge(
    config: RoomConfig, snapshot: RoomSnapshot, ticket: Ticket, now_ms: int, wait: Wait, deltas: Deltas
) -> Decision:
    """A queue page with the challenge and no place in the line: nothing counts the visitor as waiting."""
    if ticket.placed:
        # Placed before the room asked for the challenge: give the place back until it is passed.
        deltas = Deltas(waiting=_release(ticket), queue_open=deltas.queue_open, moves_visitor=True)
    ticket = _with(ticket, refresh_ms=now_ms, flags=ticket.flags & ~FLAG_PLACED)
    info = build_info(config, snapshot, ticket, now_ms, wait)
    return Decision(Outcome.QUEUE, ticket, deltas, info, "challenge")


def _attempt(
    config: RoomConfig, snapshot: RoomSnapshot, ticket: Ticket, now_ms: int, rng: Random, *, challenge_first: bool
) -> Decision:
    """A counted refresh (or first arrival) under fifo or random: admit or keep queued."""
    placed = ticket.placed
    queue_open = placed or snapshot.waiting > 0
    turn = _turn(config, snapshot, ticket, now_ms, rng, queue_open=queue_open)
    if turn is not None:
        return turn
    if challenge_first:
        # Admitted straight in when the room has room (as above); a line only after the challenge.
        return _hold_for_challenge(config, snapshot, ticket, now_ms, Wait.ESTIMATE, Deltas(queue_open=queue_open))
    rate = outflow_per_minute(config, snapshot)
    full = queue_is_full(config, snapshot, rate)
    if full and not placed:
        # Past 24 hours of wait a newcomer gets a cookie but no place yet.
        ticket = _with(ticket, refresh_ms=now_ms)
        deltas = Deltas(queue_open=queue_open)
        info = build_info(config, snapshot, ticket, now_ms, Wait.ESTIMATE, full=True, rate=rate)
        return Decision(Outcome.QUEUE, ticket, deltas, info, "full")
    ticket, waiting = _place(ticket, now_ms)
    info = build_info(config, snapshot, ticket, now_ms, Wait.ESTIMATE, full=full, rate=rate)
    deltas = Deltas(waiting=waiting, queue_open=True, moves_visitor=True)
    return Decision(Outcome.QUEUE, ticket, deltas, info, "queued")


def _turn(
    config: RoomConfig, snapshot: RoomSnapshot, ticket: Ticket, now_ms: int, rng: Random, *, queue_open: bool
) -> Decision | None:
    """The admission (or the draw from the shared pool) if the visitor's turn has come, else None."""
    free = free_slots(config, snapshot, now_ms)
    if free <= 0:
        return None
    placed = ticket.placed
    if config.queueing_method == "random":
        # One lottery draw per counted refresh. Present users draw at a rate of
        # contenders per 20 s; odds free / contenders would hand the free slots
        # out over a whole refresh interval while more budget arrives, so
        # the odds are scaled to hand them out within half an interval.
        counted = placed and now_ms - ticket.refresh_ms < PRESENT_MS
        contenders = snapshot.present + (0 if counted else 1)
        win = rng.random() * contenders * (REFRESH_INTERVAL_MS // 2) < free * REFRESH_INTERVAL_MS
    else:
        # FIFO: in when everyone present who arrived in an earlier second fits in the free slots.
        ahead = snapshot.queue.ahead(ticket.position_s) if placed else snapshot.present
        win = ahead < free
    if not win:
        return None
    allowance = snapshot.allowance
    if allowance is None or allowance > 0:
        return _admit(config, ticket, now_ms, "admitted", queue_open=queue_open)
    if snapshot.pool:
        # Nothing is counted: the caller draws a slot and decides again.
        info = build_info(config, snapshot, ticket, now_ms, Wait.ESTIMATE)
        return Decision(Outcome.QUEUE, ticket, NO_DELTAS, info, "draw")
    return None


def _new_ticket(config: RoomConfig, now_ms: int, rng: Random) -> Ticket:
    rank = rng.getrandbits(32)
    position_s = now_ms // BUCKET_MS
    flags = 0
    event = config.event
    tag = 0
    if event is not None:
        tag = event_tag(event.event_id)
        pq = event.prequeue_start_ms
        if event.shuffle_at_event_start and pq is not None and pq <= now_ms < event.start_ms:
            # A shuffled prequeue keys the place by rank: a uniform second inside
            # the prequeue window, so its users go in random order and ahead of
            # everyone arriving after the start.
            pq_s = pq // BUCKET_MS
            span = max(1, event.start_ms // BUCKET_MS - pq_s)
            position_s = pq_s + ((rank * span) >> 32)
            flags = FLAG_SHUFFLED
    return Ticket(now_ms, position_s, rank, 0, 0, 0, tag, flags)


def _with(ticket: Ticket, *, refresh_ms: int, flags: int | None = None) -> Ticket:
    return Ticket(
        ticket.arrival_ms,
        ticket.position_s,
        ticket.rank,
        refresh_ms,
        ticket.accepted_ms,
        ticket.expires_ms,
        ticket.event_tag,
        ticket.flags if flags is None else flags,
    )


def _place(ticket: Ticket, now_ms: int) -> tuple[Ticket, tuple[tuple[int, int, int], ...]]:
    """Count a refresh: move the place to the current refresh bucket (or take one)."""
    new_bucket = now_ms // REFRESH_BUCKET_MS
    pos = ticket.position_s
    waiting: tuple[tuple[int, int, int], ...]
    if ticket.placed:
        old_bucket = ticket.refresh_bucket
        waiting = () if old_bucket == new_bucket else ((pos, old_bucket, -1), (pos, new_bucket, 1))
    else:
        waiting = ((pos, new_bucket, 1),)
    return _with(ticket, refresh_ms=now_ms, flags=ticket.flags | FLAG_PLACED), waiting


def _release(ticket: Ticket) -> tuple[tuple[int, int, int], ...]:
    return ((ticket.position_s, ticket.refresh_bucket, -1),) if ticket.placed else ()


def _admit(config: RoomConfig, ticket: Ticket, now_ms: int, reason: Reason, *, queue_open: bool) -> Decision:
    expires = now_ms + config.session_duration * MINUTE_MS
    flags = ticket.flags & ~(FLAG_PLACED | FLAG_NO_RENEW)
    if config.disable_session_renewal:
        flags |= FLAG_NO_RENEW
    tag = event_tag(config.event.event_id) if config.event is not None else 0
    admitted = Ticket(
        ticket.arrival_ms, ticket.position_s, ticket.rank, ticket.refresh_ms or now_ms, now_ms, expires, tag, flags
    )
    deltas = Deltas(
        active=((expires // BUCKET_MS, 1),),
        waiting=_release(ticket),
        admitted=1,
        pace_us=(MINUTE_MS * 1000) // max(1, config.new_users_per_minute),
        queue_open=queue_open,
        admitted_open=1 if queue_open else 0,
        moves_visitor=ticket.placed,
    )
    return Decision(Outcome.ORIGIN, admitted, deltas, None, reason)


def _renew(config: RoomConfig, ticket: Ticket, now_ms: int) -> Decision:
    """A valid session: pass, pushing the expiry forward unless renewal is off.

    The expiry never moves backwards, so a session issued under an event keeps
    its expiry after the event ends.
    """
    if ticket.flags & FLAG_NO_RENEW or config.disable_session_renewal:
        return Decision(Outcome.ORIGIN, ticket, NO_DELTAS, None, "session")
    expires = now_ms + config.session_duration * MINUTE_MS
    if expires - ticket.expires_ms < RENEW_STEP_MS:
        return Decision(Outcome.ORIGIN, ticket, NO_DELTAS, None, "session")
    renewed = Ticket(
        ticket.arrival_ms,
        ticket.position_s,
        ticket.rank,
        ticket.refresh_ms,
        ticket.accepted_ms,
        expires,
        ticket.event_tag,
        ticket.flags,
    )
    deltas = Deltas(active=((ticket.expires_ms // BUCKET_MS, -1), (expires // BUCKET_MS, 1)), moves_visitor=True)
    return Decision(Outcome.ORIGIN, renewed, deltas, None, "session")


def quiet_until_ms(config: RoomConfig, ticket: Ticket) -> int:
    """Until when a valid session's requests change nothing: :func:`_renew` hands back the very ticket before it.

    (A room that is not suspended; the caller also keeps to when the effective
    configuration next changes.) So a front end that saw one such answer may let the
    same cookie through untouched, without deciding again, until this time.
    """
    if ticket.flags & FLAG_NO_RENEW or config.disable_session_renewal:
        return ticket.expires_ms
    # _renew renews once now + session_duration - expires >= RENEW_STEP_MS.
    return min(ticket.expires_ms, ticket.expires_ms + RENEW_STEP_MS - config.session_duration * MINUTE_MS)


def _reject(config: RoomConfig, snapshot: RoomSnapshot, ticket: Ticket, now_ms: int) -> Decision:
    # A queued visitor loses the place; its cookie is rewritten so the place is not released twice.
    deltas = Deltas(waiting=_release(ticket)) if ticket.placed else NO_DELTAS
    cookie = None
    if ticket.refresh_ms:
        cookie = _with(ticket, refresh_ms=ticket.refresh_ms, flags=ticket.flags & ~FLAG_PLACED)
    info = build_info(config, snapshot, ticket, now_ms, Wait.REJECT)
    return Decision(Outcome.REJECT, cookie, deltas, info, "reject")


def _infinite(config: RoomConfig, snapshot: RoomSnapshot, ticket: Ticket, now_ms: int, facts: RequestFacts) -> Decision:
    """A queue that looks real and never moves; the visitor holds no place.

    It shows what a held visitor would see in the room's state: no estimate under
    ``queue_all`` or a prequeue, the reject page under ``reject``.
    """
    deltas = Deltas(waiting=_release(ticket)) if ticket.placed else NO_DELTAS
    refresh = ticket.refresh_ms
    if not refresh or now_ms - refresh >= REFRESH_INTERVAL_MS:
        refresh = now_ms
    ticket = _with(ticket, refresh_ms=refresh, flags=ticket.flags & ~FLAG_PLACED)
    event = config.event
    if facts.websocket:
        info = build_info(config, snapshot, ticket, now_ms, Wait.ESTIMATE)
        return Decision(Outcome.QUEUE, ticket, deltas, info, "websocket")
    if config.queue_all or (event is not None and now_ms < event.start_ms):
        return Decision(
            Outcome.QUEUE, ticket, deltas, build_info(config, snapshot, ticket, now_ms, Wait.UNKNOWN), "infinite"
        )
    if config.queueing_method == "reject":
        return Decision(
            Outcome.REJECT, ticket, deltas, build_info(config, snapshot, ticket, now_ms, Wait.REJECT), "infinite"
        )
    info = build_info(config, snapshot, ticket, now_ms, Wait.ESTIMATE)
    return Decision(Outcome.QUEUE, ticket, deltas, info, "infinite")
