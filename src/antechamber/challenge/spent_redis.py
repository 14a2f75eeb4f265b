"""The used-set in Redis, shared by every gateway node.

One ``SET {prefix}:challenge:spent:<nonce> 1 NX PX <ms until expiry>`` per redemption:
Redis answers ``OK`` to the first node and nothing to any later one, atomically, and
drops the key when the challenge expires. Each key stands alone (no hash tag), so
a Redis Cluster spreads them over its slots.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from antechamber.challenge.spent import SpentSetUnavailable

DEFAULT_PREFIX = "antechamber"


class RedisSpentSet:
    """A :class:`~antechamber.challenge.spent.SpentSet` on a Redis (or Redis Cluster) client.

    The client is the caller's (``antechamber.state.redis.connect`` makes one with
    short timeouts and no retries); closing it is the caller's job too.
    """

    __slots__ = ("_client", "_prefix")

    def __init__(self, client: Redis | RedisCluster, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._client = client
        self._prefix = f"{prefix}:challenge:spent:"

    async def spend(self, nonce: str, *, expires_ms: int, now_ms: int) -> bool:
        # PX is relative, so the Redis server's clock never matters; at least 1 ms, as
        # Redis refuses 0 (an answer that expired in the meantime failed its check already).
        ttl_ms = max(1, expires_ms - now_ms)
        try:
            answer = await self._client.set(self._prefix + nonce, b"1", nx=True, px=ttl_ms)
        except (RedisError, OSError) as exc:
            raise SpentSetUnavailable(str(exc) or type(exc).__name__) from exc
        return bool(answer)
