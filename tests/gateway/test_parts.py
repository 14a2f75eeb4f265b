"""The gateway's parts without sockets: cookies, request parsing, config caching, live numbers, ASGI edges."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import pytest

from antechamber.core.config import EventSettings
from antechamber.core.cookie import CookieCodec
from antechamber.core.counters import Deltas
from antechamber.core.types import MINUTE_MS
from antechamber.gateway.admission import Admission
from antechamber.gateway.config import GatewayConfig, StaticConfig, entry_from_stored
from antechamber.gateway.convert import CookiePolicy
from antechamber.gateway.cookies import cookie_flags
from antechamber.gateway.forward_auth import _cookie_from_header
from antechamber.gateway.live_status import StateStatusSource
from antechamber.gateway.offline import asgi_scope, offline_gateway
from antechamber.gateway.pages import supported_language
from antechamber.gateway.proxy import response_headers
from antechamber.gateway.request import (
    TrustedProxies,
    client_address,
    cookie_values,
    query_param,
    split_uri,
    visitor_scheme,
)
from antechamber.gateway.upstream import MockRequest, MockResponse, MockUpstream, UpstreamProtocolError
from antechamber.state.memory import MemoryState
from tests.gateway.harness import KEYRING, T0_MS, Clock, room_body


class TestCookieFlags:
    @pytest.mark.parametrize(
        ("samesite", "secure", "request_secure", "expected"),
        [
            ("auto", "auto", False, "; Path=/; HttpOnly; SameSite=Lax"),
            ("auto", "auto", True, "; Path=/; HttpOnly; SameSite=None; Secure"),
            ("lax", "always", False, "; Path=/; HttpOnly; SameSite=Lax; Secure"),
            ("strict", "never", True, "; Path=/; HttpOnly; SameSite=Strict"),
            ("none", "always", False, "; Path=/; HttpOnly; SameSite=None; Secure"),
            ("none", "auto", False, "; Path=/; HttpOnly; SameSite=Lax"),
        ],
    )
    def test_attribute_table(self, samesite: Any, secure: Any, request_secure: bool, expected: str) -> None:
        """cookie_attributes map to these flags; SameSite=None never goes out without Secure."""
        assert expected == cookie_flags(CookiePolicy(samesite, secure), request_secure)


class TestRequestParsing:
    def test_trusted_proxies(self) -> None:
        """Addresses and CIDRs match, IPv4-mapped IPv6 too; junk and None never do; * trusts all."""
        trusted = TrustedProxies(["127.0.0.1", "10.0.0.0/8", "::1"])
        assert "10.2.3.4" in trusted and "::ffff:127.0.0.1" in trusted and "::1" in trusted
        assert "11.0.0.1" not in trusted and "garbage" not in trusted and None not in trusted
        assert "8.8.8.8" in TrustedProxies(["*"])

    def test_client_address(self) -> None:
        """Behind trusted proxies the visitor is the nearest untrusted X-Forwarded-For entry; else the peer."""
        trusted = TrustedProxies(["127.0.0.1", "10.0.0.0/8"])
        chain = [(b"x-forwarded-for", b"6.6.6.6, 203.0.113.5, 10.1.1.1")]
        assert "203.0.113.5" == client_address("127.0.0.1", chain, trusted)
        assert "198.51.100.1" == client_address("198.51.100.1", chain, trusted)
        assert "127.0.0.1" == client_address("127.0.0.1", [(b"x-forwarded-for", b"10.0.0.2")], trusted)

    def test_cookie_values(self) -> None:
        """The first occurrence of each wanted cookie wins across Cookie headers; others are ignored."""
        headers = [(b"cookie", b"a=1; b=2"), (b"cookie", b"a=3;c"), (b"other", b"a=9")]
        assert {"a": "1"} == cookie_values(headers, ["a"])
        assert {} == cookie_values(headers, ["c"])

    def test_query_param(self) -> None:
        """The first value of a parameter is found; oversized query strings are not searched."""
        assert "fr-FR" == query_param(b"x=1&lang=fr-FR&lang=de-DE", "lang")
        assert query_param(b"lang=fr&" + b"x" * 9000, "lang") is None

    def test_split_uri(self) -> None:
        """An original URI splits into path and query; a missing leading slash is added."""
        assert ("/a/b", b"x=1") == split_uri("/a/b?x=1")
        assert ("/nope", b"") == split_uri("nope")

    def test_visitor_scheme(self) -> None:
        """X-Forwarded-Proto counts only when trusted and only for http/https."""
        forwarded = [(b"x-forwarded-proto", b"https, http")]
        assert "https" == visitor_scheme("http", forwarded, True)
        assert "http" == visitor_scheme("http", forwarded, False)
        assert "http" == visitor_scheme("http", [(b"x-forwarded-proto", b"gopher")], True)
        assert "https" == visitor_scheme("wss", [], False)

    def test_supported_language(self) -> None:
        """Language tags are matched case-insensitively (and with _); unknown or oversized ones are refused."""
        assert "pt-BR" == supported_language("pt_br")
        assert supported_language("xx-XX") is None and supported_language("a" * 40) is None

    def test_cookie_from_forwarded_set_cookie(self) -> None:
        """The room cookie is found in a forwarded Set-Cookie, even among others joined by nginx."""
        joined = "__antechamber_lang=fr-FR; Path=/, __cfwaitingroom=abc_-1; Max-Age=300; Path=/"
        assert "abc_-1" == _cookie_from_header(joined, "__cfwaitingroom")
        assert _cookie_from_header("__cfwaitingroom_x=zz", "__cfwaitingroom") is None


class TestResponseHeaders:
    def test_command_stripped_and_cookies_appended(self) -> None:
        """The command header goes (any case), Date/Server go, cookies are appended."""
        upstream = [(b"Cf-Waiting-Room-Command", b"revoke"), (b"X-A", b"1"), (b"Date", b"x"), (b"Server", b"o")]
        seen: list[bytes] = []

        def on_command(value: bytes) -> tuple[bytes, ...]:
            seen.append(value)
            return (b"cleared",)

        assert [(b"x-a", b"1"), (b"set-cookie", b"cleared")] == response_headers(upstream, (b"c",), on_command)
        assert [b"revoke"] == seen
        assert [(b"x-a", b"1"), (b"set-cookie", b"c")] == response_headers([(b"X-A", b"1")], (b"c",), on_command)


def _entry(events: tuple[EventSettings, ...] = (), **fields: Any) -> Any:
    entry = entry_from_stored("r1", "z", room_body(**fields))
    return type(entry)(entry.room, events, entry.zone_id, entry.cookie_name, entry.cookie, entry.routes)


class TestEffectiveCache:
    def test_recomputed_at_event_boundaries_and_on_new_entry(self) -> None:
        """The cached effective config is reused, then replaced when an event starts or the entry changes."""
        event = EventSettings(
            id="e", event_start_time=T0_MS + MINUTE_MS, event_end_time=T0_MS + 2 * MINUTE_MS, total_active_users=9
        )
        entry = _entry((event,), total_active_users=1, new_users_per_minute=60)
        admission = Admission(StaticConfig(GatewayConfig([entry])), MemoryState(), CookieCodec(KEYRING))
        before = admission.effective(entry, T0_MS)
        assert before is admission.effective(entry, T0_MS + 59_999)
        during = admission.effective(entry, T0_MS + MINUTE_MS)
        assert (1, 9) == (before.total_active_users, during.total_active_users)
        assert 1 == admission.effective(entry, T0_MS + 2 * MINUTE_MS).total_active_users
        edited = _entry((event,), total_active_users=2, new_users_per_minute=60)
        assert 2 == admission.effective(edited, T0_MS).total_active_users


class TestLiveStatus:
    async def test_numbers_from_state(self) -> None:
        """Queued and active users come from the state; the wait is what the back of the queue is shown."""
        entry = _entry(total_active_users=1, new_users_per_minute=60)
        state = MemoryState()
        state.apply(
            "r1", Deltas(active=((T0_MS // 1000 + 300, 1),), waiting=((T0_MS // 1000, T0_MS // 10_000, 120),)), T0_MS
        )
        source = StateStatusSource(state, StaticConfig(GatewayConfig([entry])), clock=Clock())
        numbers = await source.live_numbers("r1")
        assert (120, 1) == (numbers.queued_users, numbers.active_users)
        # The one session ends in 5 minutes, then 120 users go at the prior 1 per 5 minutes.
        assert 5 + 600 == numbers.max_wait_minutes

    async def test_random_and_unknown_rooms(self) -> None:
        """Random rooms report their 75th percentile; a room the gateway does not know reports no wait."""
        entry = _entry(total_active_users=1, new_users_per_minute=60, queueing_method="random")
        state = MemoryState()
        state.apply("r1", Deltas(waiting=((T0_MS // 1000, T0_MS // 10_000, 10),)), T0_MS)
        state.apply("other", Deltas(waiting=((T0_MS // 1000, T0_MS // 10_000, 3),)), T0_MS)
        source = StateStatusSource(state, StaticConfig(GatewayConfig([entry])), clock=Clock())
        assert (await source.live_numbers("r1")).max_wait_minutes > 0
        assert (3, 0, 0) == tuple(await source.live_numbers("other"))[:3]


def _scope(method: str = "GET", path: str = "/", headers: Sequence[tuple[bytes, bytes]] = ()) -> dict[str, Any]:
    return asgi_scope("shop.example.com", path, method=method, headers=headers)


class TestAsgiEdges:
    async def _call(self, app: Any, scope: dict[str, Any]) -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        return sent

    def _gateway(self, upstream: MockUpstream, **fields: Any) -> Any:
        entry = entry_from_stored("r1", "z", room_body(**fields))
        return offline_gateway([entry], CookieCodec(KEYRING), upstream=upstream, clock=Clock(), rng=random.Random(1))

    async def test_head_queue_page_has_no_body(self) -> None:
        """A HEAD request to a queued room gets the queue headers and an empty body."""
        upstream = MockUpstream(lambda request: MockResponse(200))
        app = self._gateway(upstream, total_active_users=1, new_users_per_minute=60, queue_all=True)
        sent = await self._call(app, _scope("HEAD"))
        assert 200 == sent[0]["status"] and b"" == sent[1]["body"] and not upstream.requests

    async def test_untrusted_peer_chain_is_replaced(self) -> None:
        """From an untrusted peer the X-Forwarded-For chain is replaced by the peer address."""
        upstream = MockUpstream(lambda request: MockResponse(200, [], b"ok"))
        app = self._gateway(upstream, total_active_users=5, new_users_per_minute=60)
        await self._call(app, _scope(headers=[(b"x-forwarded-for", b"1.2.3.4")]))
        request: MockRequest = upstream.requests[0]
        assert b"203.0.113.9" == request.header(b"x-forwarded-for")

    async def test_lifespan_is_acknowledged(self) -> None:
        """The app answers the lifespan protocol so servers can start it with lifespan on."""
        app = self._gateway(
            MockUpstream(lambda request: MockResponse(200)), total_active_users=5, new_users_per_minute=60
        )
        incoming = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return next(incoming)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app({"type": "lifespan"}, receive, send)
        assert ["lifespan.startup.complete", "lifespan.shutdown.complete"] == [m["type"] for m in sent]


class _FailingBody(MockResponse):
    async def aiter_bytes(self) -> Any:  # type: ignore[override]
        yield b"partial"
        raise UpstreamProtocolError("origin hung up")


class TestHooksAndFailures:
    def _gateway(self, upstream: MockUpstream, **options: Any) -> Any:
        entry = entry_from_stored("r1", "z", room_body(total_active_users=1, new_users_per_minute=60, queue_all=True))
        return offline_gateway(
            [entry], CookieCodec(KEYRING), upstream=upstream, clock=Clock(), rng=random.Random(1), **options
        )

    async def test_bypass_hook_passes_without_cookie(self) -> None:
        """A request the bypass check matches goes to the origin even under queue_all, with no cookie."""
        upstream = MockUpstream(lambda request: MockResponse(200, [], b"ok"))
        app = self._gateway(upstream, bypass=lambda entry, visitor: visitor.path.startswith("/static"))
        sent = await TestAsgiEdges()._call(app, _scope(path="/static/app.js"))
        assert 200 == sent[0]["status"] and not [h for h in sent[0]["headers"] if h[0] == b"set-cookie"]
        assert ["/static/app.js"] == [r.target for r in upstream.requests]

    async def test_failure_mid_body_aborts(self) -> None:
        """An origin failing after the head propagates, so the server drops the connection (no clean truncation)."""
        upstream = MockUpstream(lambda request: _FailingBody(200, [], b""))
        app = self._gateway(upstream, bypass=lambda entry, visitor: True)
        with pytest.raises(UpstreamProtocolError):
            await TestAsgiEdges()._call(app, _scope())
        assert upstream.responses[0].closed
