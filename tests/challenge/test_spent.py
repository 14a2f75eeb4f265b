"""The used-set: in memory and in a real Redis, one suite over both."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis

from antechamber.challenge.altcha import Altcha
from antechamber.challenge.result import Outcome, Result
from antechamber.challenge.spent import MemorySpentSet, SpentSet, SpentSetUnavailable
from antechamber.challenge.spent_redis import RedisSpentSet
from antechamber.core.cookie import KeyRing
from antechamber.state.redis import connect
from tests import services
from tests.challenge.support import EASY, ROOM, VISITOR, now_ms, solve

T0 = 1_780_315_200_000


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def spent(request: pytest.FixtureRequest) -> AsyncIterator[SpentSet]:
    """Each backend, empty (Redis: a key prefix of the test's own)."""
    if request.param == "memory":
        yield MemorySpentSet()
        return
    client = Redis.from_url(request.getfixturevalue("redis_server_url"))
    try:
        yield RedisSpentSet(client, prefix=f"test-{uuid.uuid4().hex}")
    finally:
        await client.aclose()


class TestEveryBackend:
    async def test_first_spend_wins(self, spent: SpentSet) -> None:
        """A nonce is spent by its first caller only; other nonces are unaffected."""
        assert await spent.spend("a", expires_ms=T0 + 300_000, now_ms=T0)
        assert not await spent.spend("a", expires_ms=T0 + 300_000, now_ms=T0 + 1)
        assert await spent.spend("b", expires_ms=T0 + 300_000, now_ms=T0 + 2)


class TestMemory:
    async def test_entries_go_after_their_expiry(self) -> None:
        """Once its challenge expired a nonce is forgotten (the challenge check refuses it by then)."""
        spent = MemorySpentSet()
        assert await spent.spend("a", expires_ms=T0 + 1_000, now_ms=T0)
        assert await spent.spend("b", expires_ms=T0 + 5_000, now_ms=T0)
        assert await spent.spend("c", expires_ms=T0 + 9_000, now_ms=T0 + 2_000)
        assert 2 == len(spent)  # "a" expired and was dropped on the way
        assert await spent.spend("a", expires_ms=T0 + 9_000, now_ms=T0 + 2_000)

    async def test_a_full_set_drops_its_oldest(self) -> None:
        """The set never outgrows its bound: the oldest live entry makes room."""
        spent = MemorySpentSet(max_entries=2)
        for nonce in ("a", "b", "c"):
            assert await spent.spend(nonce, expires_ms=T0 + 300_000, now_ms=T0)
        assert 2 == len(spent)
        assert not await spent.spend("c", expires_ms=T0 + 300_000, now_ms=T0)
        assert await spent.spend("a", expires_ms=T0 + 300_000, now_ms=T0)

    def test_bound_must_be_positive(self) -> None:
        """A set that can hold nothing is refused."""
        with pytest.raises(ValueError):
            MemorySpentSet(max_entries=0)


@pytest.fixture
def private_redis() -> Iterator[services.RedisServer]:
    with services.private_redis() as server:
        yield server


@pytest.mark.redis
class TestRedis:
    async def test_key_expires_with_the_challenge(self, redis_server_url: str) -> None:
        """The key lives until the challenge's expiry, counted from ``now_ms`` (not Redis's clock)."""
        client = Redis.from_url(redis_server_url)
        prefix = f"test-{uuid.uuid4().hex}"
        try:
            assert await RedisSpentSet(client, prefix=prefix).spend("n", expires_ms=T0 + 60_000, now_ms=T0)
            ttl = await client.pttl(f"{prefix}:challenge:spent:n")
            assert 59_000 < ttl <= 60_000
        finally:
            await client.aclose()

    async def test_two_nodes_share_it(self, redis_server_url: str) -> None:
        """An answer redeemed through one node's client is a replay through another's."""
        first, second = Redis.from_url(redis_server_url), Redis.from_url(redis_server_url)
        prefix = f"test-{uuid.uuid4().hex}"
        issuer = Altcha(KeyRing(current_id=1, keys={1: bytes(32)}), difficulty=EASY)
        payload = solve(issuer.issue(ROOM, VISITOR, now_ms=now_ms()))
        try:
            node_a, node_b = RedisSpentSet(first, prefix=prefix), RedisSpentSet(second, prefix=prefix)
            assert (await issuer.redeem(payload, ROOM, VISITOR, now_ms=now_ms(), spent=node_a)).passed
            replay = await issuer.redeem(payload, ROOM, VISITOR, now_ms=now_ms(), spent=node_b)
            assert Result(Outcome.FAILED, ("replayed",), bot=True) == replay
        finally:
            await first.aclose()
            await second.aclose()

    async def test_redis_down_is_an_error_not_a_verdict(self, private_redis: services.RedisServer) -> None:
        """When Redis does not answer, spending raises and redeeming says ``error``: reuse cannot be ruled out."""
        client = connect(private_redis.url, timeout=0.5)
        spent = RedisSpentSet(client)
        issuer = Altcha(KeyRing(current_id=1, keys={1: bytes(32)}), difficulty=EASY)
        payload = solve(issuer.issue(ROOM, VISITOR, now_ms=now_ms()))
        try:
            private_redis.stop()
            with pytest.raises(SpentSetUnavailable):
                await spent.spend("n", expires_ms=T0 + 1_000, now_ms=T0)
            result = await issuer.redeem(payload, ROOM, VISITOR, now_ms=now_ms(), spent=spent)
            assert Result(Outcome.ERROR, ("replay-check-unavailable",)) == result
        finally:
            await client.aclose()

    async def test_a_hung_redis_times_out(self, private_redis: services.RedisServer) -> None:
        """A Redis that stops answering without closing the connection fails within the client's timeout."""
        client = connect(private_redis.url, timeout=0.3)
        spent = RedisSpentSet(client)
        try:
            assert await spent.spend("warm", expires_ms=T0 + 1_000, now_ms=T0)
            private_redis.freeze()
            with pytest.raises(SpentSetUnavailable):
                await spent.spend("n", expires_ms=T0 + 1_000, now_ms=T0)
        finally:
            private_redis.resume()
            await client.aclose()
