"""Request latencies by outcome and origin failures: plain ints on the request path, Prometheus every 5 s.

:class:`RequestTimings` is this process's tally. The front ends take
``perf_counter_ns()`` before and after a decision (and around a proxied
request), and :meth:`RequestTimings.record` bisects the elapsed time into the
fixed bounds of :data:`LATENCY_BUCKETS` and increments two ints. The
analytics writer's 5 s tick hands the tally to
:meth:`~antechamber.gateway.metrics.GatewayMetrics.timings` with
:meth:`RequestTimings.take`, which swaps in an empty one, so every request is
transferred exactly once (the gateway runs in one event loop thread: nothing
records while the swap happens).

Why not ``Histogram.observe()`` per request: measured with ``timeit`` on the
project's 2-core build machine (CPython 3.11, prometheus-client 0.26.0, the 18
bounds below, best of 5), ``histogram.labels(room, outcome).observe(x)`` costs
1.34 µs and ``observe(x)`` on a cached child 0.61 µs, against 0.15 µs for
:meth:`record` (0.19 µs for :meth:`decided`, which also picks the outcome) and
0.09 µs for the two ``perf_counter_ns()`` calls. In situ, timed around
``Gateway.handle`` (``python benchmarks/request_timing.py``, short runs at load 0.1),
the tally adds about 0.5 µs to an admitted visitor's forward-auth check or
proxy decision (10.4 → 10.9 µs of the gateway's own work, before HTTP parsing
and writing; about 1-2 % of the whole request at 20-40k requests/s per core)
and about 1 µs to a queued visitor's refresh with its page (23.7 → 24.8 µs).
A proxied request adds one more :meth:`record` and ``perf_counter_ns()`` pair.

Outcomes (the ``outcome`` label):

``admitted``
    A visitor with a valid session: the decision to let it through (a
    forward-auth 200, or the start of a proxied request), renewals included.
``new``
    A visitor with no valid cookie (first visit, or its session or place
    expired): its first decision, whether it is let in at once or queued.
``queued``
    A visitor holding a place in line: its refresh, answered with the queue
    page, or let in when its turn has come.
``bypass``
    Let through untouched: a bypass rule, a verified crawler, a suspended room.
``rejected``
    Answered with the reject page.
``proxied``
    The reverse proxy's round trip: from handing the request to the origin
    until the visitor's answer is written whole (or the error page, see
    :data:`ORIGIN_ERRORS`). The time on the origin, not the gateway's own.

A decision's time runs from the gateway getting the parsed request to the
answer being ready (the queue page rendered), so it includes a wait for a slot
from the shared pool (Redis) or a crawler's DNS check when there is one. It
excludes parsing and writing, which the HTTP server does.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import TYPE_CHECKING

from antechamber.core.types import Outcome

if TYPE_CHECKING:
    from antechamber.gateway.admission import Verdict

#: The ``outcome`` label's values, in the order of their indexes below.
OUTCOMES = ("admitted", "new", "queued", "bypass", "rejected", "proxied")
ADMITTED, NEW, QUEUED, BYPASS, REJECTED, PROXIED = range(len(OUTCOMES))
#: Latency bucket bounds in seconds (Prometheus ``le``): a decision takes tens of µs, the origin ms to s.
LATENCY_BUCKETS = (
    0.000025,
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
_BOUNDS_NS = tuple(round(bound * 1e9) for bound in LATENCY_BUCKETS)
#: Per outcome: a count per bucket (the last one past every bound, +Inf), then the sum in ns.
_STRIDE = len(LATENCY_BUCKETS) + 2
_SUM = _STRIDE - 1
_ADMITTED_BASE, _NEW_BASE, _QUEUED_BASE, _BYPASS_BASE, _REJECTED_BASE = (i * _STRIDE for i in range(5))
_BYPASS, _REJECT = Outcome.BYPASS, Outcome.REJECT
#: How a proxied request failed (the ``kind`` label of ``antechamber_origin_errors_total``).
ORIGIN_ERRORS = (
    "connect_error",  # TCP connect or TLS handshake failed: 502
    "timeout",  # no response head in time (pool, connect, read, write): 504
    "bad_response",  # the origin broke HTTP/1.1 or hung up before its head: 502
    "no_origin",  # no origin is configured for the host: 502
    "cut_off",  # the response failed mid-body (the head was out): the visitor's connection is dropped
)
#: The ``room`` label of proxied requests no room covers.
NO_ROOM = "none"


@dataclass(frozen=True, slots=True)
class Latencies:
    """One room's and outcome's requests since the last take: a count per bucket (+Inf last) and the sum."""

    room_id: str
    outcome: str
    counts: tuple[int, ...]
    sum_ns: int


@dataclass(frozen=True, slots=True)
class TakenTimings:
    """What :meth:`RequestTimings.take` hands over."""

    latencies: list[Latencies]
    #: (room id, kind) -> failures.
    origin_errors: dict[tuple[str, str], int]


class RequestTimings:
    """This process's latency counts by room and outcome, and its origin failures, until the next take."""

    __slots__ = ("_counts", "_errors")

    def __init__(self) -> None:
        self._counts: dict[str, list[int]] = {}
        self._errors: dict[tuple[str, str], int] = {}

    def record(self, room_id: str, outcome: int, elapsed_ns: int) -> None:
        """One request of ``room_id`` with ``outcome`` (an index into :data:`OUTCOMES`) took ``elapsed_ns``."""
        counts = self._counts.get(room_id)
        if counts is None:
            counts = self._counts[room_id] = [0] * (_STRIDE * len(OUTCOMES))
        base = outcome * _STRIDE
        counts[base + bisect_left(_BOUNDS_NS, elapsed_ns)] += 1
        counts[base + _SUM] += elapsed_ns

    def decided(self, verdict: Verdict, elapsed_ns: int) -> None:
        """A decided request took ``elapsed_ns``; its outcome as the module docstring says (:meth:`record` inlined)."""
        decision = verdict.decision
        if decision.reason == "session":
            base = _ADMITTED_BASE
        elif decision.outcome is _BYPASS:
            base = _BYPASS_BASE
        elif decision.outcome is _REJECT:
            base = _REJECTED_BASE
        else:
            # A cookie that opened holds a live place (expired ones do not open; a valid session returned above).
            base = _NEW_BASE if verdict.opened is None else _QUEUED_BASE
        room_id = verdict.entry.room_id
        counts = self._counts.get(room_id)
        if counts is None:
            counts = self._counts[room_id] = [0] * (_STRIDE * len(OUTCOMES))
        counts[base + bisect_left(_BOUNDS_NS, elapsed_ns)] += 1
        counts[base + _SUM] += elapsed_ns

    def origin_failed(self, room_id: str, kind: str) -> None:
        """A proxied request failed; ``kind`` is one of :data:`ORIGIN_ERRORS`."""
        key = (room_id, kind)
        self._errors[key] = self._errors.get(key, 0) + 1

    def take(self) -> TakenTimings:
        """Everything counted since the last take; counting starts again from zero."""
        counts, self._counts = self._counts, {}
        errors, self._errors = self._errors, {}
        latencies = []
        for room_id, flat in counts.items():
            for index, outcome in enumerate(OUTCOMES):
                part = flat[index * _STRIDE : (index + 1) * _STRIDE]
                if any(part[:_SUM]):
                    latencies.append(Latencies(room_id, outcome, tuple(part[:_SUM]), part[_SUM]))
        return TakenTimings(latencies, errors)
