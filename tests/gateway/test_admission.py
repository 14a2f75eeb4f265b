"""Admission's caches: opened cookies (never beyond their ticket or room), renewals counted once, quiet sessions."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

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


HOST_B = HOST.encode()


class TestQuietSessions:
    """An admitted visitor's request that changes nothing lets the same Cookie header through undecided."""

    @staticmethod
    def _site(**room: Any) -> tuple[Admission, Clock, MemoryState]:
        clock = Clock()
        state = MemoryState()
        config = StaticConfig(GatewayConfig([entry_from_stored("r1", "z", room_body(**room))]))
        admission = Admission(config, state, CookieCodec(KEYRING), clock=clock)
        return admission, clock, state

    @staticmethod
    def _visit(admission: Admission, header: bytes | None, *, host: str = HOST) -> tuple[bytes, ...]:
        entry = admission.route(host, "/")
        assert entry is not None
        visitor = Visitor(host, "/", b"", [(b"cookie", header)] if header else [], "http", "203.0.113.9", None)
        verdict = admission.check(entry, visitor)
        assert verdict.passes
        return verdict.set_cookies

    def _admitted(self, admission: Admission) -> bytes:
        """A new visitor's Cookie header after being let in, and one ordinary request with it."""
        (set_cookie,) = self._visit(admission, None)
        header = set_cookie.split(b";")[0]
        assert () == self._visit(admission, header)
        return header

    def test_the_same_header_passes_until_the_renewal_step(self) -> None:
        """After one unchanged request, the header passes quietly; at the renewal step it is decided (and renewed)."""
        admission, clock, _ = self._site(session_duration=5)
        entry = admission.route(HOST, "/")
        assert entry is not None
        header = self._admitted(admission)
        assert admission.quiet_room(HOST_B, "/", header) is entry
        clock.advance(RENEW_STEP_MS / 1000 - 0.001)
        assert admission.quiet_room(HOST_B, "/", header) is entry
        clock.advance(0.001)
        assert admission.quiet_room(HOST_B, "/", header) is None
        assert len(self._visit(admission, header)) == 1  # the renewal the quiet pass must not skip

    def test_a_session_without_renewal_passes_until_it_ends(self) -> None:
        """With session renewal off, the header passes quietly to the session's end, and not after."""
        admission, clock, _ = self._site(session_duration=2, disable_session_renewal=True)
        entry = admission.route(HOST, "/")
        assert entry is not None
        header = self._admitted(admission)
        clock.advance(2 * 60 - 0.001)
        assert admission.quiet_room(HOST_B, "/", header) is entry
        clock.advance(0.001)
        assert admission.quiet_room(HOST_B, "/", header) is None

    def test_other_headers_rooms_and_configurations_miss(self) -> None:
        """A changed Cookie header, another room's entry, or a new configuration of the room are decided again."""
        admission, _, _ = self._site()
        entry = admission.route(HOST, "/")
        assert entry is not None
        header = self._admitted(admission)
        assert not admission.quiet_room(HOST_B, "/", header + b"; theme=dark")
        assert not admission.quiet_room(b"b.example", "/", header)  # another host, which no room covers
        admission.source = StaticConfig(GatewayConfig([entry_from_stored("r1", "z", room_body())]))
        assert not admission.quiet_room(HOST_B, "/", header)

    def test_on_a_shared_host_a_header_passes_only_on_its_rooms_paths(self) -> None:
        """Where two rooms share a host, the quiet pass still routes: another room's path is decided."""
        clock = Clock()
        rooms = [entry_from_stored("r1", "z", room_body()), entry_from_stored("r2", "z", room_body(path="/tickets"))]
        admission = Admission(StaticConfig(GatewayConfig(rooms)), MemoryState(), CookieCodec(KEYRING), clock=clock)
        entry = admission.route(HOST, "/")
        assert entry is not None and entry.room_id == "r1"
        header = self._admitted(admission)
        assert admission.quiet_room(HOST_B, "/shop", header) is entry
        assert admission.quiet_room(HOST_B, "/tickets/7", header) is None

    def test_a_revoked_session_is_decided_again(self) -> None:
        """Revoking a session forgets its quiet header: the next request with it is decided."""
        admission, clock, _ = self._site()
        entry = admission.route(HOST, "/")
        assert entry is not None
        header = self._admitted(admission)
        visitor = Visitor(HOST, "/", b"", [(b"cookie", header)], "http", "203.0.113.9", None)
        admission.revoke(entry, admission.session_of(entry, visitor, clock()), visitor, clock())
        assert admission.quiet_room(HOST_B, "/", header) is None

    def test_a_request_with_two_cookie_headers_is_never_quiet(self) -> None:
        """Several Cookie headers are always decided (the room cookie could be in either)."""
        admission, _, _ = self._site()
        entry = admission.route(HOST, "/")
        assert entry is not None
        (set_cookie,) = self._visit(admission, None)
        header = set_cookie.split(b";")[0]
        visitor = Visitor(HOST, "/", b"", [(b"cookie", header), (b"cookie", b"a=1")], "http", "203.0.113.9", None)
        admission.check(entry, visitor)
        assert admission._quiet == {}

    @settings(max_examples=60, deadline=None)
    @given(
        duration=st.integers(min_value=1, max_value=30),
        no_renewal=st.booleans(),
        steps_s=st.lists(st.floats(min_value=0, max_value=400), min_size=1, max_size=12),
    )
    def test_a_quiet_pass_is_what_the_decision_would_be(
        self, duration: int, no_renewal: bool, steps_s: list[float]
    ) -> None:
        """Whenever a header passes quietly, deciding it instead would set no cookie and change no counter."""
        admission, clock, state = self._site(session_duration=duration, disable_session_renewal=no_renewal)
        header = self._admitted(admission)
        for step in steps_s:
            clock.advance(step)
            entry = admission.route(HOST, "/")
            assert entry is not None
            quiet = admission.quiet_room(HOST_B, "/", header) is entry
            before = state.snapshot("r1", clock.now_ms)
            visitor = Visitor(HOST, "/", b"", [(b"cookie", header)], "http", "203.0.113.9", None)
            verdict = admission.check(entry, visitor)
            if quiet:
                assert verdict.passes and verdict.set_cookies == ()
                assert state.snapshot("r1", clock.now_ms) == before
            elif verdict.set_cookies:
                header = verdict.set_cookies[0].split(b";")[0]
