"""Request latencies by outcome and origin failures: what the front ends tally, and how it is handed over."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from antechamber.core.cookie import CookieCodec
from antechamber.gateway.app import Forward, Gateway
from antechamber.gateway.config import entry_from_stored
from antechamber.gateway.offline import asgi_scope, offline_gateway, room_cookie
from antechamber.gateway.pages import Reply
from antechamber.gateway.proxy import Hop, forward
from antechamber.gateway.timing import LATENCY_BUCKETS, NO_ROOM, OUTCOMES, RequestTimings
from antechamber.gateway.upstream import (
    MockRequest,
    MockResponse,
    MockUpstream,
    Origin,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from tests.gateway.harness import HOST, KEYRING, Clock, room_body, running_site

NS = 1_000_000_000


def counts_by_outcome(timings: RequestTimings) -> dict[tuple[str, str], int]:
    """How many requests each (room, outcome) had since the last take (and take them)."""
    return {(part.room_id, part.outcome): sum(part.counts) for part in timings.take().latencies}


class TestTally:
    def test_a_latency_lands_in_the_first_bucket_whose_bound_it_does_not_exceed(self) -> None:
        """Prometheus' ``le``: a value at a bound counts in that bucket, one ns more in the next, past all in +Inf."""
        timings = RequestTimings()
        timings.record("r", 0, round(LATENCY_BUCKETS[0] * NS))
        timings.record("r", 0, round(LATENCY_BUCKETS[0] * NS) + 1)
        timings.record("r", 0, 11 * NS)
        (part,) = timings.take().latencies
        assert (1, 1) == part.counts[:2]
        assert 1 == part.counts[-1] and len(LATENCY_BUCKETS) + 1 == len(part.counts)
        assert 2 * round(LATENCY_BUCKETS[0] * NS) + 1 + 11 * NS == part.sum_ns

    def test_a_take_hands_everything_over_once(self) -> None:
        """After a take the tally starts from zero: nothing is handed over twice."""
        timings = RequestTimings()
        timings.record("r", OUTCOMES.index("queued"), 30_000)
        timings.origin_failed("r", "timeout")
        first = timings.take()
        assert [("r", "queued", 30_000)] == [(p.room_id, p.outcome, p.sum_ns) for p in first.latencies]
        assert {("r", "timeout"): 1} == first.origin_errors
        second = timings.take()
        assert ([], {}) == (second.latencies, second.origin_errors)


def _scope(path: str = "/", cookie: str | None = None) -> dict[str, Any]:
    return asgi_scope(HOST, path, cookie=cookie)


def _gateway(**room: Any) -> tuple[Gateway, RequestTimings, Clock]:
    clock = Clock()
    gateway = offline_gateway([entry_from_stored("r", "z", room_body(**room))], CookieCodec(KEYRING), clock=clock)
    timings = RequestTimings()
    gateway.timings = timings
    return gateway, timings, clock


class TestOutcomes:
    def test_each_visitor_state_has_its_outcome(self) -> None:
        """new (no cookie), admitted (valid session), queued (holding a place) and rejected, each counted once."""
        gateway, timings, clock = _gateway(total_active_users=1, new_users_per_minute=60)
        first = gateway.handle(_scope())  # let in at once
        assert isinstance(first, Forward)
        gateway.handle(_scope(cookie=room_cookie(first)))
        stranger = gateway.handle(_scope())  # the room is full: queued
        assert isinstance(stranger, Reply)
        clock.advance(21)
        gateway.handle(_scope(cookie=room_cookie(stranger)))
        assert {("r", "new"): 2, ("r", "admitted"): 1, ("r", "queued"): 1} == counts_by_outcome(timings)
        rejecting, timings, _ = _gateway(queueing_method="reject")
        rejecting.handle(_scope())
        assert {("r", "rejected"): 1} == counts_by_outcome(timings)

    def test_requests_let_through_undecided_are_timed_as_admitted(self) -> None:
        """A session's later unchanged requests (proxied or forward auth) skip the decision but still count."""
        gateway, timings, _ = _gateway()
        first = gateway.handle(_scope())
        assert isinstance(first, Forward)
        cookie = room_cookie(first)
        auth = _scope("/.antechamber/auth", cookie=cookie)
        auth["headers"] += [(b"x-forwarded-host", HOST.encode()), (b"x-forwarded-uri", b"/")]
        for _ in range(3):
            gateway.handle(_scope(cookie=cookie))
            gateway.handle(auth)
        assert gateway.untouched_room(_scope(cookie=cookie)) is not None  # the later ones went undecided
        assert {("r", "new"): 1, ("r", "admitted"): 6} == counts_by_outcome(timings)

    def test_a_bypass_and_the_gateways_own_endpoints(self) -> None:
        """A suspended room's requests count as bypass; forward auth is timed, health and uncovered hosts are not."""
        gateway, timings, _ = _gateway(suspended=True)
        gateway.handle(_scope())
        gateway.handle(_scope("/.antechamber/health"))
        auth = _scope("/.antechamber/auth")
        auth["headers"] += [(b"x-forwarded-host", HOST.encode()), (b"x-forwarded-uri", b"/")]
        gateway.handle(auth)
        uncovered = _scope()
        uncovered["headers"] = [(b"host", b"elsewhere.test")]
        gateway.handle(uncovered)
        assert {("r", "bypass"): 2} == counts_by_outcome(timings)

    def test_without_timings_nothing_is_counted(self) -> None:
        """A gateway whose timings were never set decides as before and tallies nothing."""
        gateway, timings, _ = _gateway()
        gateway.timings = None
        assert isinstance(gateway.handle(_scope()), Forward)
        assert {} == counts_by_outcome(timings)


async def _proxy(
    upstream: MockUpstream, timings: RequestTimings, origin: Origin | None, path: str = "/"
) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {}

    async def send(message: Any) -> None:
        sent.append(message)

    hop = Hop(upstream, origin, "http", "203.0.113.9", False, "r", timings)
    await forward(_scope(path), receive, send, hop)
    return sent


def _origin(request: MockRequest) -> MockResponse:
    if request.target == "/slow":
        raise UpstreamTimeout("read", 1.0)
    if request.target == "/junk":
        raise UpstreamProtocolError("not HTTP")
    return MockResponse(200, [], b"ok")


class TestProxied:
    ORIGIN = Origin.parse("http://origin.test")

    async def test_a_round_trip_is_timed_and_failures_counted_by_kind(self) -> None:
        """Each proxied request is timed once; a timeout, a broken answer and no origin count by kind."""
        timings = RequestTimings()
        upstream = MockUpstream(_origin)
        assert 200 == (await _proxy(upstream, timings, self.ORIGIN))[0]["status"]
        assert 504 == (await _proxy(upstream, timings, self.ORIGIN, "/slow"))[0]["status"]
        assert 502 == (await _proxy(upstream, timings, self.ORIGIN, "/junk"))[0]["status"]
        assert 502 == (await _proxy(upstream, timings, None))[0]["status"]
        taken = timings.take()
        assert [("r", "proxied", 4)] == [(p.room_id, p.outcome, sum(p.counts)) for p in taken.latencies]
        assert {("r", "timeout"): 1, ("r", "bad_response"): 1, ("r", "no_origin"): 1} == taken.origin_errors

    async def test_a_body_that_fails_midway_is_cut_off(self) -> None:
        """The origin failing after the head went out counts as cut_off (and the error still propagates)."""

        class Broken(MockResponse):
            async def aiter_bytes(self) -> Any:
                yield b"half"
                raise UpstreamProtocolError("closed mid-body")

        timings = RequestTimings()
        upstream = MockUpstream(lambda request: Broken(200, [], b""))
        with pytest.raises(UpstreamProtocolError):
            await _proxy(upstream, timings, self.ORIGIN)
        taken = timings.take()
        assert {("r", "cut_off"): 1} == taken.origin_errors
        assert 1 == sum(taken.latencies[0].counts)


class TestRealOrigin:
    async def test_every_request_through_a_front_end_is_timed(self, tmp_path: Path, gateway_server: str) -> None:
        """Over real HTTP, on both front ends: the decisions and the proxied round trips are tallied."""
        async with running_site(tmp_path, server=gateway_server) as site:
            site.gateway.timings = timings = RequestTimings()
            room = await site.add_room(total_active_users=5, new_users_per_minute=60)
            async with site.visitor() as visitor:
                await visitor.get("/")
                await visitor.get("/")
            async with site.visitor(host="uncovered.example") as outsider:
                await outsider.get("/")
        assert {(room, "new"): 1, (room, "admitted"): 1, (room, "proxied"): 2, (NO_ROOM, "proxied"): 1} == (
            counts_by_outcome(timings)
        )

    async def test_a_closed_port_is_a_connect_error(self, tmp_path: Path, gateway_server: str) -> None:
        """An origin that refuses connections counts one connect_error per request, on both front ends."""
        async with running_site(tmp_path, origin_url="http://127.0.0.1:9", server=gateway_server) as site:
            site.gateway.timings = timings = RequestTimings()
            room = await site.add_room(total_active_users=5, new_users_per_minute=60)
            async with site.visitor() as visitor:
                assert 502 == (await visitor.get("/")).status_code
        assert {(room, "connect_error"): 1} == timings.take().origin_errors

    async def test_an_origin_sleeping_past_the_timeout_is_a_timeout(self, tmp_path: Path, gateway_server: str) -> None:
        """An origin that answers after the read timeout counts one timeout, and its round trip is timed."""
        async with running_site(tmp_path, read_timeout=0.2, server=gateway_server) as site:
            site.gateway.timings = timings = RequestTimings()
            async with site.visitor() as visitor:
                assert 504 == (await visitor.get("/slow")).status_code
        taken = timings.take()
        assert {(NO_ROOM, "timeout"): 1} == taken.origin_errors
        (proxied,) = taken.latencies
        assert proxied.sum_ns >= 0.2 * NS
