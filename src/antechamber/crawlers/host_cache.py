"""A bounded cache whose entries expire: the verifier's memory of reverse-DNS answers."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ExpiringCache(Generic[K, V]):
    """At most ``size`` entries, each forgotten ``ttl`` seconds after it was stored; when full, the oldest go.

    Args:
        size: the most entries kept.
        clock: seconds, monotonic (tests pass their own).
    """

    def __init__(self, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._size = size
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The value stored under ``key``, or None when there is none or it has expired."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= self._clock():
            del self._entries[key]
            return None
        return value

    def put(self, key: K, value: V, ttl: float) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds, dropping the oldest entry if the cache is full."""
        self._entries.pop(key, None)
        if len(self._entries) >= self._size:
            self._entries.popitem(last=False)
        self._entries[key] = (self._clock() + ttl, value)

    def __len__(self) -> int:
        return len(self._entries)
