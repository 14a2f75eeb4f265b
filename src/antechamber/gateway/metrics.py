"""Prometheus metrics: the analytics' figures live, request latencies, origin errors, the node's health.

Nothing here is on the request path. The analytics writer hands each sample and
each changed minute to :class:`GatewayMetrics` every few seconds (the counters
grow by what the minute grew by since the last look), and the request
latencies and origin failures the front ends tallied in plain ints
(:mod:`antechamber.gateway.timing`), so a scrape is at most 5 s behind the
gateway and costs the request path nothing more than those ints.

The latencies go into the histogram in bulk (:func:`add_observations`): a
bucket's count and the sum grow by whole tallies. prometheus-client has no
public call for that, so it increments the histogram child's private ``_buckets``
and ``_sum`` values (the same ones ``observe()`` increments, in memory or in the
multiprocess files alike). ``tests/gateway/test_metrics.py`` checks that the
result is what ``observe()`` of each value would give, in both modes, so an
upgrade that changes them fails there.

With ``--workers N`` the metrics go through ``prometheus-client``'s multiprocess
mode: every worker writes its values to files in ``PROMETHEUS_MULTIPROC_DIR`` (set
by ``antechamber serve`` before any worker starts) and a scrape of any worker reads
them all. Counters add up across workers; the room gauges take the largest (on
Redis every worker samples the totals of all), the store's health the lowest.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Literal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    make_asgi_app,
)
from prometheus_client.multiprocess import MultiProcessCollector

from antechamber.core.analytics import MINUTE_MS, MinuteFigures, MinuteRow, bucket_ms
from antechamber.gateway.timing import LATENCY_BUCKETS, TakenTimings
from antechamber.state.base import StateHealth

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Wait buckets, in seconds: a second to two hours.
WAIT_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)

ASGIApp = Any
GaugeMode = Literal["max", "min"]


def add_observations(histogram: Histogram, counts: Sequence[int], total: float) -> None:
    """Add a tally to one (labelled) histogram: ``counts[i]`` values in bucket ``i`` (+Inf last), summing to ``total``.

    The same as ``observe()`` of each value, without a call per value. Uses the
    child's private ``_buckets`` and ``_sum`` (see the module docstring).
    """
    buckets = histogram._buckets
    if len(buckets) != len(counts):
        raise ValueError(f"{len(counts)} counts for a histogram of {len(buckets)} buckets")
    for value, n in zip(buckets, counts, strict=True):
        if n:
            value.inc(n)
    histogram._sum.inc(total)


def multiprocess() -> bool:
    """Whether this process writes its metrics to the shared directory (several workers)."""
    return bool(os.environ.get(MULTIPROCESS_ENV))


class GatewayMetrics:
    """This process's metrics, on a registry of its own (so that tests may make several)."""

    def __init__(self) -> None:
        shared = multiprocess()
        # In multiprocess mode the values live in files; a scrape collects them on a registry of its own.
        self.registry = CollectorRegistry()
        registry = None if shared else self.registry
        room = ["room"]

        def gauge(name: str, doc: str, labels: Sequence[str] = room, mode: GaugeMode = "max") -> Gauge:
            return Gauge(name, doc, labels, registry=registry, multiprocess_mode=mode)

        def counter(name: str, doc: str, labels: Sequence[str] = room) -> Counter:
            return Counter(name, doc, labels, registry=registry)

        self.active = gauge("antechamber_active_users", "Users on the site (sessions running), sampled every 5 s.")
        self.active_limit = gauge("antechamber_active_users_limit", "total_active_users in force.")
        self.queued = gauge("antechamber_queued_users", "Users waiting, sampled every 5 s.")
        self.rate_limit = gauge("antechamber_new_users_per_minute_limit", "new_users_per_minute in force.")
        self.admitted = counter("antechamber_new_users_admitted", "New users let in.")
        self.rejected = counter("antechamber_rejected_requests", "Requests answered with the reject page.")
        self.bypassed = counter(
            "antechamber_bypassed_requests", "Requests let through by a bypass rule or as a verified crawler."
        )
        self.revoked = counter("antechamber_sessions_revoked", "Sessions ended through the revoke endpoint.")
        self.challenges = counter(
            "antechamber_challenges", "Bot challenges by outcome (issued, passed, failed).", ["room", "outcome"]
        )
        self.waits = Histogram(
            "antechamber_wait_seconds",
            "Waits of the users let in, from first arrival to admission.",
            room,
            buckets=WAIT_BUCKETS,
            registry=registry,
        )
        self.renewals = counter(
            "antechamber_session_renewals", "Sessions renewed (their expiry moved on by a request), at most every 5 s."
        )
        self.time_on_origin = counter(
            "antechamber_time_on_origin_seconds",
            "Time on the origin the renewals accrued (admission or last renewal to this one); see ANALYTICS.md.",
        )
        self.latency = Histogram(
            "antechamber_request_duration_seconds",
            "Gateway decisions by outcome (admitted, new, queued, bypass, rejected) and proxied round trips.",
            ["room", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.origin_errors = counter(
            "antechamber_origin_errors",
            "Proxied requests that failed: connect_error, timeout, bad_response, no_origin, cut_off.",
            ["room", "kind"],
        )
        self.store_up = gauge(
            "antechamber_state_store_up", "1 while the state store answers, else 0.", labels=(), mode="min"
        )
        self.sync_age = gauge(
            "antechamber_state_sync_age_seconds",
            "Seconds since this node last merged its counters through the shared store (0: one node).",
            labels=(),
        )
        self.config_revision = gauge(
            "antechamber_config_revision",
            "The config store revision in force (the lowest of the workers).",
            labels=(),
            mode="min",
        )
        #: What a scrape reads: this registry, or every worker's files.
        self.serving = self.registry
        if shared:
            self.serving = CollectorRegistry()
            MultiProcessCollector(self.serving)  # type: ignore[no-untyped-call]
        #: What each (room, minute) had reached at the last look, to count only what it grew by.
        self._seen: dict[tuple[str, int], MinuteFigures] = {}

    def room(self, room_id: str, active: int, queued: int, active_limit: int, rate_limit: int) -> None:
        """A sample of a room's totals and limits."""
        self.active.labels(room_id).set(active)
        self.queued.labels(room_id).set(queued)
        self.active_limit.labels(room_id).set(active_limit)
        self.rate_limit.labels(room_id).set(rate_limit)

    def minutes(self, rows: Sequence[MinuteRow], now_ms: int) -> None:
        """The minutes that changed: each counter grows by what its minute grew by since the last look."""
        for room_id, minute, figures in rows:
            before = self._seen.get((room_id, minute)) or MinuteFigures()
            self._seen[(room_id, minute)] = figures.copy()
            for counter, now, then in (
                (self.admitted, figures.admitted, before.admitted),
                (self.rejected, figures.rejected, before.rejected),
                (self.bypassed, figures.bypassed, before.bypassed),
                (self.revoked, figures.revoked, before.revoked),
                (self.renewals, figures.renewals, before.renewals),
                (self.time_on_origin, figures.origin_ms / 1000, before.origin_ms / 1000),
            ):
                if now > then:
                    counter.labels(room_id).inc(now - then)
            for outcome, now, then in (
                ("issued", figures.challenges_issued, before.challenges_issued),
                ("passed", figures.challenges_passed, before.challenges_passed),
                ("failed", figures.challenges_failed, before.challenges_failed),
            ):
                if now > then:
                    self.challenges.labels(room_id, outcome).inc(now - then)
            waits = self.waits.labels(room_id)
            for bucket, n in figures.waits.items():
                for _ in range(n - before.waits.get(bucket, 0)):
                    waits.observe(bucket_ms(bucket) / 1000)
        current = now_ms // MINUTE_MS
        for key in [key for key in self._seen if key[1] < current - 1]:
            del self._seen[key]

    def timings(self, taken: TakenTimings) -> None:
        """The request latencies and origin failures tallied since the last hand-over."""
        for part in taken.latencies:
            add_observations(self.latency.labels(part.room_id, part.outcome), part.counts, part.sum_ns / 1e9)
        for (room_id, kind), n in taken.origin_errors.items():
            self.origin_errors.labels(room_id, kind).inc(n)

    def node(self, health: StateHealth, revision: int | None, now_ms: int) -> None:
        """The state store's health and this node's config revision."""
        self.store_up.set(1 if health.healthy else 0)
        self.sync_age.set(max(0, now_ms - health.synced_ms) / 1000 if health.synced_ms else 0)
        if revision is not None:
            self.config_revision.set(revision)

    def exposition(self) -> tuple[bytes, str]:
        """The text a scrape gets (every worker's, in multiprocess mode), and its content type."""
        return generate_latest(self.serving), CONTENT_TYPE_LATEST

    def asgi(self) -> ASGIApp:
        """The ``--metrics`` listener: ``/metrics`` in Prometheus' text format, and nothing else."""
        return make_asgi_app(self.serving)
