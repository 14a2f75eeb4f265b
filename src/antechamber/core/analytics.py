"""A room's figures for one minute, as the analytics keep them: pure, no I/O.

Each gateway process counts its own decisions into a :class:`MinuteFigures` per
room and minute and writes it to the config store as its own row; a reader merges
the rows of every process and node with :func:`merge`. Counters add up across
nodes. Gauges (active and queued users, sampled every few seconds) take the
largest: with a shared store every node samples the same totals, so adding them
would count each user once per node.

Time on origin is counted at session renewals, the only sign of a session the
gateway sees after admission (a request whose expiry moves on by at least
:data:`~antechamber.core.types.RENEW_STEP_MS`): each renewal adds how far it
moved the session's observed span, from the admission or the last renewal to
now (:func:`renewal_accrual_ms`). A session's accruals add up to its time from
admission to its last renewal, wherever and in whichever minutes they happened,
so they add across nodes like any counter. ``docs/ANALYTICS.md`` gives the
definition and its accuracy.

Waits are kept as a histogram on log-spaced buckets (eight per doubling, so a
percentile read back is within 4.5 % of the true one), which merges by adding
counts. Hand-written rather than a sketch library: the stored form has to be a
small JSON map that both SQLite and PostgreSQL rows hold, and DDSketch's Python
port serialises through protobuf only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields

from antechamber.core.ticket import Ticket

#: Buckets per doubling of the wait: the relative width of a bucket is 2 ** (1/8) - 1, about 9 %.
BUCKETS_PER_DOUBLING = 8
#: Waits under a second share bucket 0 (read back as 0: let in at once).
_FIRST_MS = 1000
MINUTE_MS = 60_000


def wait_bucket(wait_ms: int) -> int:
    """The histogram bucket of a wait of ``wait_ms``."""
    if wait_ms < _FIRST_MS:
        return 0
    return 1 + math.floor(math.log2(wait_ms / _FIRST_MS) * BUCKETS_PER_DOUBLING)


def bucket_ms(bucket: int) -> int:
    """The wait a bucket stands for: its geometric middle (0 for bucket 0)."""
    if bucket <= 0:
        return 0
    return round(_FIRST_MS * 2 ** ((bucket - 0.5) / BUCKETS_PER_DOUBLING))


def percentile_ms(histogram: Mapping[int, int], q: float) -> int | None:
    """The ``q``-th percentile (0-100) of the waits in ``histogram``; None when it is empty."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(total * q / 100))  # nearest rank
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return bucket_ms(bucket)
    return bucket_ms(max(histogram))


@dataclass(slots=True)
class MinuteFigures:
    """One room's figures over one minute (of one node, or merged over every node)."""

    #: New users let in, and requests answered with the reject page.
    admitted: int = 0
    rejected: int = 0
    #: Requests let through untouched by a bypass rule or as a verified crawler.
    bypassed: int = 0
    #: Sessions ended through the revoke endpoint.
    revoked: int = 0
    #: Challenges handed out, solved, and failed (a bot's answer or a wrong one).
    challenges_issued: int = 0
    challenges_passed: int = 0
    challenges_failed: int = 0
    #: The most active and queued users sampled in the minute, and the limits then in force.
    active_max: int = 0
    queued_max: int = 0
    active_limit: int = 0
    new_users_limit: int = 0
    #: Waits of the users let in (arrival to admission), by :func:`wait_bucket`.
    waits: dict[int, int] = field(default_factory=dict)
    #: Sessions renewed, the time on origin they accrued (:func:`renewal_accrual_ms`), and the
    #: oldest session renewed (admission to the renewal).
    renewals: int = 0
    origin_ms: int = 0
    origin_longest_ms: int = 0

    def add_wait(self, wait_ms: int) -> None:
        bucket = wait_bucket(wait_ms)
        self.waits[bucket] = self.waits.get(bucket, 0) + 1

    def add_renewal(self, accrued_ms: int, age_ms: int) -> None:
        """A session renewed: it accrued ``accrued_ms`` on the origin and was admitted ``age_ms`` ago."""
        self.renewals += 1
        self.origin_ms += accrued_ms
        self.origin_longest_ms = max(self.origin_longest_ms, age_ms)

    def sample(self, active: int, queued: int, active_limit: int, new_users_limit: int) -> None:
        """One look at the room's totals and its limits."""
        self.active_max = max(self.active_max, active)
        self.queued_max = max(self.queued_max, queued)
        self.active_limit = max(self.active_limit, active_limit)
        self.new_users_limit = max(self.new_users_limit, new_users_limit)

    def empty(self) -> bool:
        """Nothing happened and nobody was there: no row worth keeping."""
        return not any(getattr(self, name) for name in COUNTERS + GAUGES)

    def copy(self) -> MinuteFigures:
        return merge([self])


#: One room's figures for one minute (since the epoch), as a process hands them on: (room id, minute, figures).
MinuteRow = tuple[str, int, MinuteFigures]

#: The fields that add up across nodes, and those that take the largest.
COUNTERS = (
    "admitted",
    "rejected",
    "bypassed",
    "revoked",
    "challenges_issued",
    "challenges_passed",
    "challenges_failed",
    "renewals",
    "origin_ms",
)
GAUGES = ("active_max", "queued_max", "active_limit", "new_users_limit", "origin_longest_ms")
assert set(COUNTERS + GAUGES + ("waits",)) == {f.name for f in fields(MinuteFigures)}


def renewal_accrual_ms(before: Ticket, after: Ticket, now_ms: int) -> int:
    """The time on origin a renewal at ``now_ms`` accrues: ``before``'s session renewed into ``after``.

    How far the expiry moved: the time since the last renewal (or the admission),
    since both expiries lie one session duration after them. Never more than
    the session's age (an expiry can move by more when the room's
    ``session_duration`` grew meanwhile) nor below 0.
    """
    return max(0, min(after.expires_ms - before.expires_ms, now_ms - before.accepted_ms))


def merge(parts: Iterable[MinuteFigures]) -> MinuteFigures:
    """Several nodes' figures for one minute as one: counters and waits added, gauges the largest."""
    out = MinuteFigures()
    for part in parts:
        for name in COUNTERS:
            setattr(out, name, getattr(out, name) + getattr(part, name))
        for name in GAUGES:
            setattr(out, name, max(getattr(out, name), getattr(part, name)))
        for bucket, n in part.waits.items():
            out.waits[bucket] = out.waits.get(bucket, 0) + n
    return out


@dataclass(frozen=True, slots=True)
class Summary:
    """A stretch of minutes in brief (an event, or a chosen range)."""

    minutes: int
    admitted: int
    rejected: int
    bypassed: int
    revoked: int
    peak_active: int
    peak_queued: int
    wait_p50_ms: int | None
    wait_p90_ms: int | None
    wait_p99_ms: int | None
    longest_wait_ms: int | None
    #: Sessions renewed, and the time on origin they accrued (ms).
    renewals: int
    time_on_origin_ms: int
    #: Mean time on origin per user let in (None: nobody let in); see docs/ANALYTICS.md.
    time_on_origin_avg_ms: int | None
    #: The oldest session seen renewing (admission to its renewal; None: no renewal).
    longest_time_on_origin_ms: int | None


def summarise(minutes: Iterable[MinuteFigures]) -> Summary:
    """Totals, peaks and wait percentiles over ``minutes`` (each already merged over the nodes)."""
    rows = list(minutes)
    total = merge(rows)  # counters added, gauges the largest: the range's totals and peaks
    waits = total.waits
    return Summary(
        minutes=len(rows),
        admitted=total.admitted,
        rejected=total.rejected,
        bypassed=total.bypassed,
        revoked=total.revoked,
        peak_active=total.active_max,
        peak_queued=total.queued_max,
        wait_p50_ms=percentile_ms(waits, 50),
        wait_p90_ms=percentile_ms(waits, 90),
        wait_p99_ms=percentile_ms(waits, 99),
        longest_wait_ms=bucket_ms(max(waits)) if waits else None,
        renewals=total.renewals,
        time_on_origin_ms=total.origin_ms,
        time_on_origin_avg_ms=round(total.origin_ms / total.admitted) if total.admitted else None,
        longest_time_on_origin_ms=total.origin_longest_ms if total.renewals else None,
    )
