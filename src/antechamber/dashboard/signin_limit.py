"""How many failed sign-ins the dashboard takes before it makes a client wait.

Counted per client address in a sliding window, and across all addresses (so a
password cannot be guessed from many addresses either). In memory: the API
process is the only one that serves the dashboard's sign-in.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

#: Failed sign-ins one address may make in the window, and all addresses together.
PER_CLIENT = 5
OVERALL = 100
WINDOW_S = 300.0
#: Addresses remembered at most (the oldest are forgotten first: memory stays bounded under a flood).
MAX_CLIENTS = 10_000


class SignInLimiter:
    """Failures in the last ``window_s`` seconds, per client and overall."""

    def __init__(
        self,
        *,
        per_client: int = PER_CLIENT,
        overall: int = OVERALL,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_client = per_client
        self.overall = overall
        self.window_s = window_s
        self.clock = clock
        self._clients: OrderedDict[str, deque[float]] = OrderedDict()
        self._all: deque[float] = deque()

    def retry_after(self, client: str) -> float:
        """Seconds until this client may try again (0: now)."""
        now = self.clock()
        self._expire(self._all, now)
        waits = [0.0]
        if len(self._all) >= self.overall:
            waits.append(self._all[0] + self.window_s - now)
        failures = self._clients.get(client)
        if failures is not None:
            self._expire(failures, now)
            if len(failures) >= self.per_client:
                waits.append(failures[0] + self.window_s - now)
        return max(waits)

    def failed(self, client: str) -> None:
        """Count a failed sign-in."""
        now = self.clock()
        failures = self._clients.pop(client, None) or deque()
        failures.append(now)
        self._clients[client] = failures
        while len(self._clients) > MAX_CLIENTS:
            self._clients.popitem(last=False)
        self._all.append(now)

    def succeeded(self, client: str) -> None:
        """A client that signed in starts afresh (its own failures are forgiven, not the overall ones)."""
        self._clients.pop(client, None)

    def _expire(self, moments: deque[float], now: float) -> None:
        while moments and moments[0] <= now - self.window_s:
            moments.popleft()
