"""The visitor's own state, carried encrypted in the waiting-room cookie.

The server keeps no record per visitor, so everything needed to find the
visitor again in the aggregate counters lives here: the second that keys the
visitor's place in line, the refresh window it was last counted in, and for an
admitted visitor the second its session expires.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from antechamber.core.types import QUEUE_PLACE_HOLD_MS, REFRESH_BUCKET_MS

#: The ticket holds a place in the waiting counters.
FLAG_PLACED = 1
#: Admitted while session renewal was disabled: the expiry never moves.
FLAG_NO_RENEW = 2
#: The visitor passed the challenge (Turnstile or proof of work).
FLAG_CHALLENGE_PASSED = 4
#: The visitor failed the challenge under ``infinite_queue``: never admitted.
FLAG_INFINITE_QUEUE = 8
#: The place was keyed by the visitor's random rank (shuffled prequeue).
FLAG_SHUFFLED = 16


def event_tag(event_id: str | None) -> int:
    """A 32-bit tag of an event id for the cookie (0 = no event)."""
    if not event_id:
        return 0
    return zlib.crc32(event_id.encode()) or 1


@dataclass(frozen=True, slots=True)
class Ticket:
    """The cookie's plaintext.

    ``arrival_ms`` is the first arrival (Cloudflare's ``bucketId``), ``rank`` a
    uniform 32-bit random number drawn on arrival, ``position_s`` the second
    keying the place in the waiting counters (the arrival second, or a second
    inside the prequeue window chosen by ``rank`` when the prequeue is
    shuffled), ``refresh_ms`` the last counted refresh (``lastUpdated``),
    ``accepted_ms`` the admission time (0 = not admitted, ``acceptedAt``) and
    ``expires_ms`` the session's end (the active counters key it by second).
    """

    arrival_ms: int
    position_s: int
    rank: int
    refresh_ms: int = 0
    accepted_ms: int = 0
    expires_ms: int = 0
    event_tag: int = 0
    flags: int = 0

    @property
    def admitted(self) -> bool:
        """The visitor was let in (the session may have expired since)."""
        return self.accepted_ms != 0

    @property
    def placed(self) -> bool:
        """The visitor is counted in the waiting counters."""
        return bool(self.flags & FLAG_PLACED)

    @property
    def refresh_bucket(self) -> int:
        """The refresh window this visitor is counted in while placed."""
        return self.refresh_ms // REFRESH_BUCKET_MS

    @property
    def challenge_passed(self) -> bool:
        return bool(self.flags & FLAG_CHALLENGE_PASSED)

    @property
    def infinite_queue(self) -> bool:
        return bool(self.flags & FLAG_INFINITE_QUEUE)

    @property
    def cookie_expires_ms(self) -> int:
        """When the cookie stops being useful: session end, or the queue place hold."""
        if self.accepted_ms:
            return self.expires_ms
        return self.refresh_ms + QUEUE_PLACE_HOLD_MS

    def session_valid(self, now_ms: int) -> bool:
        """An admitted visitor whose session has not expired."""
        return self.accepted_ms != 0 and now_ms < self.expires_ms

    def queue_valid(self, now_ms: int) -> bool:
        """A queued visitor who refreshed within the place hold (5 minutes)."""
        return self.accepted_ms == 0 and self.refresh_ms != 0 and now_ms - self.refresh_ms < QUEUE_PLACE_HOLD_MS

    def with_flags(self, *, challenge_passed: bool | None = None, infinite_queue: bool | None = None) -> Ticket:
        """The same ticket with the challenge flags set or cleared (None = unchanged)."""
        flags = self.flags
        if challenge_passed is not None:
            flags = flags | FLAG_CHALLENGE_PASSED if challenge_passed else flags & ~FLAG_CHALLENGE_PASSED
        if infinite_queue is not None:
            flags = flags | FLAG_INFINITE_QUEUE if infinite_queue else flags & ~FLAG_INFINITE_QUEUE
        return Ticket(
            self.arrival_ms,
            self.position_s,
            self.rank,
            self.refresh_ms,
            self.accepted_ms,
            self.expires_ms,
            self.event_tag,
            flags,
        )
