"""The used-set: each challenge answer is redeemed at most once.

:class:`SpentSet` is the port; :class:`MemorySpentSet` serves one process, and
:class:`~antechamber.challenge.spent_redis.RedisSpentSet` several nodes. An entry is
only needed until its challenge expires (an expired answer fails before the set is
asked), so every entry carries that expiry and goes away after it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from antechamber.state.base import RoomState

#: Entries the in-memory set holds: at ~150 bytes each, about 15 MB when full.
DEFAULT_MAX_ENTRIES = 100_000


class SpentSetUnavailable(Exception):
    """The used-set could not be asked (its backend is down or timed out)."""


class SpentSet(Protocol):
    """Remembers redeemed challenge nonces until their challenge expires."""

    async def spend(self, nonce: str, *, expires_ms: int, now_ms: int) -> bool:
        """Mark ``nonce`` used until ``expires_ms``: true for the first caller only.

        Raises:
            SpentSetUnavailable: the backend did not answer.
        """
        ...


class MemorySpentSet:
    """A bounded in-process used-set.

    Entries are kept in insertion order and dropped from the front once expired. Nonces
    come in roughly in expiry order (every challenge lives the same ``ttl_s``), so the
    front is nearly always the next to expire. When the set is full of live entries the
    oldest is dropped early: that answer could then be redeemed a second time, but only
    for the same room and visitor it is bound to, which gains a visitor nothing its
    first redemption did not.
    """

    __slots__ = ("_entries", "_max")

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self._entries: OrderedDict[str, int] = OrderedDict()
        self._max = max_entries

    def __len__(self) -> int:
        return len(self._entries)

    async def spend(self, nonce: str, *, expires_ms: int, now_ms: int) -> bool:
        return self.spend_now(nonce, expires_ms=expires_ms, now_ms=now_ms)

    def spend_now(self, nonce: str, *, expires_ms: int, now_ms: int) -> bool:
        """:meth:`spend` without the coroutine (nothing here waits)."""
        entries = self._entries
        while entries:
            oldest, oldest_expiry = next(iter(entries.items()))
            if oldest_expiry > now_ms:
                break
            del entries[oldest]
        expiry = entries.get(nonce)
        if expiry is not None and expiry > now_ms:
            return False
        entries[nonce] = expires_ms
        entries.move_to_end(nonce)
        if len(entries) > self._max:
            entries.popitem(last=False)
        return True


def spent_set_for(state: RoomState, *, prefix: str) -> SpentSet:
    """The used-set that goes with a state backend: in Redis when the state is shared, else in memory.

    (Answers must be spent once across every node that shares the counters.)
    """
    from antechamber.state.redis import RedisState  # imported only here: the Redis client loads when used

    if isinstance(state, RedisState):
        from antechamber.challenge.spent_redis import RedisSpentSet

        return RedisSpentSet(state.client, prefix=prefix)
    return MemorySpentSet()
