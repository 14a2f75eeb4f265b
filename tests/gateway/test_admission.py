"""Admission's caches: opened cookies are remembered (never beyond their ticket or room), renewals count once."""

from __future__ import annotations

from antechamber.core.cookie import CookieCodec
from antechamber.core.ticket import Ticket
from antechamber.core.types import RENEW_STEP_MS
from antechamber.gateway.admission import Admission
from antechamber.gateway.config import GatewayConfig, StaticConfig, entry_from_stored
from antechamber.gateway.request import Visitor
from antechamber.state.memory import MemoryState
from tests.gateway.harness import HOST, KEYRING, T0_MS, Clock, room_body


def _setup() -> tuple[Admission, CookieCodec]:
    entries = [entry_from_stored("r1", "z", room_body()), entry_from_stored("r2", "z", room_body(host="b.example"))]
    codec = CookieCodec(KEYRING)
    return Admission(StaticConfig(GatewayConfig(entries)), MemoryState(), codec), codec


def _ticket(expires_ms: int) -> Ticket:
    return Ticket(T0_MS, 0, 0, T0_MS, T0_MS, expires_ms, 0, 0)


class TestOpenedCookies:
    def test_same_value_opens_from_memory(self) -> None:
        """A value seen before gives the same ticket without decrypting again."""
        admission, codec = _setup()
        entry = admission.source.current.rooms["r1"]
        value = codec.seal(_ticket(T0_MS + 60_000), room_id="r1", name=entry.cookie_name)
        first = admission._open(value, entry, T0_MS)
        assert first is not None
        assert first is admission._open(value, entry, T0_MS + 1)

    def test_remembered_ticket_still_expires(self) -> None:
        """A remembered ticket is refused once its cookie has expired, like ``codec.open`` would."""
        admission, codec = _setup()
        entry = admission.source.current.rooms["r1"]
        ticket = _ticket(T0_MS + 60_000)
        value = codec.seal(ticket, room_id="r1", name=entry.cookie_name)
        assert admission._open(value, entry, T0_MS) is not None
        assert admission._open(value, entry, ticket.cookie_expires_ms) is None
        assert codec.open(value, room_id="r1", name=entry.cookie_name, now_ms=ticket.cookie_expires_ms) is None

    def test_value_from_another_room_does_not_open(self) -> None:
        """The cache is keyed by room: a cookie remembered for one room opens to nothing in another."""
        admission, codec = _setup()
        one, two = admission.source.current.rooms["r1"], admission.source.current.rooms["r2"]
        value = codec.seal(_ticket(T0_MS + 60_000), room_id="r1", name=one.cookie_name)
        assert admission._open(value, one, T0_MS) is not None
        assert admission._open(value, two, T0_MS) is None

    def test_junk_is_not_remembered_and_queued_tickets_are_kept_apart(self) -> None:
        """Junk leaves nothing behind; queued tickets (new on every counted refresh) stay out of the admitted table."""
        admission, codec = _setup()
        entry = admission.source.current.rooms["r1"]
        for junk in ("x", "A" * 70, ""):
            assert admission._open(junk, entry, T0_MS) is None
        assert ({}, {}) == (admission._opened, admission._queued)
        queued = Ticket(T0_MS, 0, 0, T0_MS, 0, 0, 0, 0)
        value = codec.seal(queued, room_id="r1", name=entry.cookie_name)
        assert queued == admission._open(value, entry, T0_MS)
        assert {} == admission._opened
        assert [queued] == list(admission._queued.values())


class TestParallelRenewal:
    def test_requests_in_flight_with_the_old_cookie_renew_once(self) -> None:
        """Parallel requests carrying a cookie due for renewal count the visitor once, not once each."""
        clock = Clock()
        entry = entry_from_stored("r1", "z", room_body())
        state = MemoryState()
        admission = Admission(StaticConfig(GatewayConfig([entry])), state, CookieCodec(KEYRING), clock=clock)

        def visit(cookie: str | None) -> tuple[bytes, ...]:
            headers = [(b"cookie", f"{entry.cookie_name}={cookie}".encode())] if cookie else []
            visitor = Visitor(HOST, "/", b"", headers, "http", "203.0.113.9", "203.0.113.9")
            return admission.check(entry, visitor).set_cookies

        def value(set_cookie: bytes) -> str:
            return set_cookie.decode().split(";")[0].split("=", 1)[1]

        (first,) = visit(None)
        old = value(first)
        old_expiry = admission._open(old, entry, clock.now_ms)
        assert old_expiry is not None
        clock.advance(RENEW_STEP_MS / 1000 + 1)
        (renewed,) = visit(old)
        assert () == visit(old)  # the same old cookie, still in flight: no second renewal
        assert () == visit(value(renewed))
        clock.now_ms = old_expiry.expires_ms + 1
        assert 1 == state.snapshot("r1", clock.now_ms).active
