"""The order of checks and the room-wide switches."""

from __future__ import annotations

from antechamber.core.types import QUEUE_PLACE_HOLD_MS, Outcome, RequestFacts
from tests.core.harness import MINUTE, SECOND, T0, Room, Visitor, room_config


def test_open_room_admits_straight_in_and_counts_the_session() -> None:
    """Below both limits a new visitor goes to the origin with a session cookie and counts as active."""
    room = Room()
    (v,) = room.arrive()
    assert v.last is not None and v.last.outcome is Outcome.ORIGIN and v.last.reason == "admitted"
    assert v.ticket is not None and v.ticket.accepted_ms == room.now
    assert v.ticket.expires_ms == room.now + 5 * MINUTE
    snap = room.snapshot()
    assert (snap.active, snap.waiting, snap.admitted_last_minute) == (1, 0, 1)


def test_suspended_room_passes_without_cookie_or_counting() -> None:
    """A suspended room sends everyone to the origin, sets no cookie and counts nothing."""
    room = Room(room_config(suspended=True, queue_all=True))
    d = room.decide(None)
    assert (d.outcome, d.ticket, bool(d.deltas), d.info) == (Outcome.BYPASS, None, False, None)
    assert room.snapshot().active == 0


def test_bypass_wins_over_queue_all_and_reject() -> None:
    """A bypass rule or verified crawler passes untouched even when everything else would hold it."""
    room = Room(room_config(queue_all=True, queueing_method="reject"))
    d = room.decide(None, RequestFacts(bypass=True))
    assert (d.outcome, d.ticket, bool(d.deltas)) == (Outcome.BYPASS, None, False)


def test_suspended_is_checked_before_bypass() -> None:
    """Suspension is the first check: the reason says so even for bypassed requests."""
    room = Room(room_config(suspended=True))
    assert room.decide(None, RequestFacts(bypass=True)).reason == "suspended"


def test_valid_session_passes_under_queue_all_and_reject() -> None:
    """Users with a valid session stay on the site when queue_all or reject is switched on."""
    room = Room()
    (v,) = room.arrive()
    for switch in ({"queue_all": True}, {"queueing_method": "reject"}):
        room.config = room_config(**switch)
        room.advance(SECOND)
        assert room.visit(v).outcome is Outcome.ORIGIN


def test_session_renewal_pushes_expiry_and_moves_the_count() -> None:
    """A request renews the session: the expiry moves forward and the active count stays one."""
    room = Room()
    (v,) = room.arrive()
    assert v.ticket is not None
    first = v.ticket.expires_ms
    room.advance(MINUTE)
    d = room.visit(v)
    assert d.reason == "session" and v.ticket.expires_ms == room.now + 5 * MINUTE > first
    assert room.snapshot().active == 1
    room.advance(4 * MINUTE + 30 * SECOND)  # past the first expiry, within the renewed one
    assert room.snapshot().active == 1
    assert room.visit(v).outcome is Outcome.ORIGIN


def test_session_expires_after_session_duration_without_requests() -> None:
    """A user not seen for session_duration stops counting and returns as a new user."""
    room = Room()
    (v,) = room.arrive()
    room.advance(5 * MINUTE + SECOND)
    assert room.snapshot().active == 0
    d = room.visit(v)
    assert d.reason == "admitted" and v.ticket is not None and v.ticket.accepted_ms == room.now


def test_disable_session_renewal_keeps_the_expiry_fixed() -> None:
    """With renewal disabled, requests do not extend the session; it ends session_duration after admission."""
    room = Room(room_config(disable_session_renewal=True))
    (v,) = room.arrive()
    assert v.ticket is not None
    expiry = v.ticket.expires_ms
    room.advance(4 * MINUTE)
    d = room.visit(v)
    assert d.outcome is Outcome.ORIGIN and not d.deltas and v.ticket.expires_ms == expiry
    room.advance(MINUTE + SECOND)  # counted up to the end of its expiry second
    assert room.snapshot().active == 0
    assert room.visit(v).reason == "admitted"  # not queueing: silently a new user again


def test_disable_session_renewal_sends_expired_users_to_the_back_when_queueing() -> None:
    """A renewal-disabled session that ends while the room queues joins the back of the queue."""
    room = Room(room_config(disable_session_renewal=True, total_active_users=1))
    (v,) = room.arrive()
    room.advance(30 * SECOND)
    (w,) = room.arrive()
    assert w.last is not None and w.last.outcome is Outcome.QUEUE
    for _ in range(14):  # w keeps refreshing, so it is present and ahead of any newcomer
        room.advance(20 * SECOND)
        room.visit(w)
    room.advance(5 * SECOND)
    d = room.visit(v)
    assert d.outcome is Outcome.QUEUE and v.ticket is not None
    assert v.ticket.arrival_ms == room.now  # a new place, behind w


def test_passthrough_admits_everyone_beyond_the_limits_and_still_counts() -> None:
    """Passthrough ignores the limits but keeps counting active users and admissions."""
    room = Room(room_config(queueing_method="passthrough"))
    visitors = room.arrive(500)
    assert all(v.last is not None and v.last.outcome is Outcome.ORIGIN for v in visitors)
    snap = room.snapshot()
    assert (snap.active, snap.admitted_last_minute) == (500, 500)


def test_reject_shows_a_static_page_without_refresh_or_cookie() -> None:
    """Reject sends new users a reject page that does not refresh and sets no cookie."""
    room = Room(room_config(queueing_method="reject"))
    d = room.decide(None)
    assert d.outcome is Outcome.REJECT and d.ticket is None and d.info is not None
    assert d.info.refresh_interval_seconds == 0 and not d.info.wait_time_known
    assert d.info.to_json_dict()["isRejectQueue"] is True
    assert room.snapshot().active == 0


def test_reject_releases_a_queued_place_once() -> None:
    """A queued visitor meeting reject loses the place, and its rewritten cookie cannot release it again."""
    room = Room(room_config(queue_all=True))
    (v,) = room.arrive()
    assert room.snapshot().waiting == 1
    room.config = room_config(queueing_method="reject")
    room.advance(20 * SECOND)
    assert room.visit(v).outcome is Outcome.REJECT and room.snapshot().waiting == 0
    room.config = room_config(queue_all=True)
    room.advance(20 * SECOND)
    room.visit(v)
    assert room.snapshot().waiting == 1


def test_queue_all_queues_new_users_and_never_admits() -> None:
    """queue_all holds every new user with an unknown wait, even in an empty room."""
    room = Room(room_config(queue_all=True))
    visitors = room.arrive(3)
    for _ in range(5):
        room.advance(20 * SECOND)
        assert room.refresh_all(visitors) == []
    d = visitors[0].last
    assert d is not None and d.reason == "queue_all" and d.info is not None
    assert not d.info.wait_time_known and d.info.queue_all and d.info.wait_time_formatted == "unavailable"
    assert d.info.refresh_interval_seconds == 20
    assert room.snapshot().waiting == 3


def test_queue_all_lifted_lets_the_queue_in_in_order() -> None:
    """Users held by queue_all keep their places and go in first when it is switched off."""
    room = Room(room_config(queue_all=True, total_active_users=2))
    held = room.arrive(3)
    room.advance(5 * SECOND)
    room.config = room_config(total_active_users=2)
    (late,) = room.arrive()
    assert late.last is not None and late.last.outcome is Outcome.QUEUE  # three are ahead of it
    room.advance(20 * SECOND)
    assert room.refresh_all([late, *held]) == held[:2]


def test_early_refresh_is_ignored() -> None:
    """A refresh sooner than 20 s after the last counted one changes nothing, lastUpdated included."""
    room = Room(room_config(total_active_users=1))
    room.arrive()
    (v,) = room.arrive()
    assert v.ticket is not None
    before = v.ticket
    room.advance(19 * SECOND)
    d = room.visit(v)
    assert d.reason == "early" and not d.deltas and d.ticket == before
    assert d.info is not None and d.info.last_updated_ms == before.refresh_ms
    room.advance(SECOND)
    d = room.visit(v)
    assert d.reason == "queued" and d.info is not None and d.info.last_updated_ms == room.now


def test_queued_place_is_held_five_minutes_after_the_last_refresh() -> None:
    """A queued user who stops refreshing counts as waiting for 5 minutes, then is dropped."""
    room = Room(room_config(total_active_users=1))
    room.arrive()
    (v,) = room.arrive()
    assert room.snapshot().waiting == 1
    room.advance(QUEUE_PLACE_HOLD_MS - SECOND)
    assert room.snapshot().waiting == 1
    room.advance(11 * SECOND)  # the refresh bucket is dropped within 10 s after the hold
    assert room.snapshot().waiting == 0


def test_queued_user_returning_after_the_hold_is_new() -> None:
    """A queued user back after more than 5 minutes gets a new place at the back."""
    room = Room(room_config(total_active_users=1))
    room.arrive()
    (v,) = room.arrive()
    room.advance(QUEUE_PLACE_HOLD_MS)
    room.visit(v)
    assert v.ticket is not None and v.ticket.arrival_ms == room.now
    room.advance(10 * SECOND)  # the old place is gone with its refresh bucket
    assert room.snapshot().waiting == 1


def test_websocket_without_session_is_held_and_with_session_passes() -> None:
    """A WebSocket upgrade passes only with a valid session; otherwise it changes nothing."""
    room = Room()
    d = room.decide(None, RequestFacts(websocket=True))
    assert d.outcome is Outcome.QUEUE and d.ticket is None and not d.deltas
    (v,) = room.arrive()
    assert room.visit(v, RequestFacts(websocket=True)).outcome is Outcome.ORIGIN


def test_a_user_who_stopped_refreshing_does_not_hold_up_the_line() -> None:
    """Someone silent for more than two refreshes still holds a place but no longer blocks those behind."""
    room = Room(room_config(total_active_users=1, session_duration=1))
    room.arrive()  # takes the only slot for a minute
    room.advance(SECOND)
    room.arrive()  # queues, then goes silent
    room.advance(SECOND)
    (stays,) = room.arrive()
    while room.visit(stays).outcome is not Outcome.ORIGIN:
        room.advance(20 * SECOND)
    assert room.now - T0 < 70 * SECOND  # in at the first refresh after the slot freed
    assert room.snapshot().waiting == 1  # the silent one still holds its place


def test_a_returning_user_within_the_hold_keeps_the_place() -> None:
    """A queued user back within 5 minutes is ahead of later arrivals again and goes in before them."""
    room = Room(room_config(total_active_users=1, session_duration=1))
    visits: dict[int, list[Visitor]] = {}
    room.arrive()  # the only slot, for a minute
    room.advance(SECOND)
    (back,) = room.arrive()  # second in line, then away until 100 s
    room.advance(SECOND)
    (later,) = room.arrive()
    room.advance(SECOND)
    (third,) = room.arrive()
    for t in range(4, 200):
        visits.clear()
        if t % 20 == 2:
            visits[0] = [later]
        if t % 20 == 3:
            visits[1] = [third]
        if t >= 100 and t % 20 == 0:
            visits[2] = [back]
        room.advance(SECOND)
        for group in visits.values():
            for v in group:
                if not v.admitted:
                    room.visit(v)
    assert later.ticket is not None and back.ticket is not None and third.ticket is not None
    assert later.ticket.accepted_ms < back.ticket.accepted_ms  # `back` was away when the first slot freed
    assert third.ticket.accepted_ms == 0 or back.ticket.accepted_ms < third.ticket.accepted_ms
    assert back.admitted
