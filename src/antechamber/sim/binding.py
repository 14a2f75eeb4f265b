"""The seam between the simulator and the core: the calls one gateway process makes per request.

The event loop only sees a :class:`CoreBinding`, so it can drive the real
core over the in-process state (the default) or any other state backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from antechamber.core.counters import RoomSnapshot
from antechamber.core.info import QueueInfo
from antechamber.core.types import MINUTE_MS, REFRESH_INTERVAL_S, RequestFacts, RoomConfig


@dataclass(frozen=True, slots=True)
class CoreBinding:
    """Bound functions for one state, plus readers for the numbers the report needs."""

    decide: Callable[[RoomConfig, Any, Any, RequestFacts, int, Any], Any]
    snapshot: Callable[[str, int], Any]
    apply: Callable[[str, Any, int], None]
    memory_bytes: Callable[[], int]
    #: (active, waiting) as the core counts them, from a snapshot.
    counts: Callable[[Any], tuple[int, int]]
    #: From a queue response's info: (``waitTime`` shown, the unrounded estimate), both in
    #: minutes, or ``None`` when ``waitTimeKnown`` is false.
    wait_estimate: Callable[[Any], tuple[float, float] | None]
    #: Seal a ticket into a cookie and open it again (room id, ticket, now): True if it survived.
    cookie_roundtrip: Callable[[str, Any, int], bool] | None = None
    #: From a queue response's info: ``waitTime75Percentile`` shown (minutes; 0 under FIFO),
    #: or ``None`` when the wait is unknown.
    wait_p75: Callable[[Any], float | None] | None = None
    #: Release what the binding holds (connections, an event loop) once the run is over.
    close: Callable[[], None] | None = None
    #: From a queue response's info: the ``Refresh`` it asks for, in seconds.
    refresh_seconds: Callable[[Any], int] | None = None


def counts(snapshot: RoomSnapshot) -> tuple[int, int]:
    """(active, waiting) from a snapshot."""
    return snapshot.active, snapshot.waiting


def wait_estimate(info: QueueInfo | None) -> tuple[float, float] | None:
    """The wait shown on a queue page and its unrounded estimate, in minutes (None: not known)."""
    if info is None or not info.wait_time_known:
        return None
    unrounded = info.wait_time if info.estimated_wait_ms is None else info.estimated_wait_ms / MINUTE_MS
    return float(info.wait_time), float(unrounded)


def refresh_seconds(info: QueueInfo | None) -> int:
    """The queue page's ``Refresh``: 20 s, less for a FIFO user whose turn is near."""
    return REFRESH_INTERVAL_S if info is None else info.refresh_interval_seconds


def _wait_p75(info: QueueInfo | None) -> float | None:
    if info is None or not info.wait_time_known:
        return None
    return float(info.wait_time_75_percentile)


def _cookie_roundtrip() -> Callable[[str, Any, int], bool]:
    """The real cookie codec under a throwaway key: a sampled check that sim tickets survive the wire."""
    from antechamber.core.cookie import CookieCodec, KeyRing, cookie_name

    codec = CookieCodec(KeyRing(1, {1: bytes(range(32))}))
    name = cookie_name()

    def roundtrip(room_id: str, ticket: Any, now_ms: int) -> bool:
        sealed = codec.seal(ticket, room_id=room_id, name=name)
        return bool(codec.open(sealed, room_id=room_id, name=name, now_ms=now_ms) == ticket)

    return roundtrip


def real_core() -> CoreBinding:
    """The real decision core over a fresh in-process state, with the real cookie codec sampled."""
    from antechamber.core.decide import decide
    from antechamber.state.memory import MemoryState

    state = MemoryState()
    return CoreBinding(
        decide=decide,
        snapshot=state.snapshot,
        apply=state.apply,
        memory_bytes=state.memory_bytes,
        counts=counts,
        wait_estimate=wait_estimate,
        cookie_roundtrip=_cookie_roundtrip(),
        wait_p75=_wait_p75,
        refresh_seconds=refresh_seconds,
    )
