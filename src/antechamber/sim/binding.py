"""The seam between the simulator and the core: the four calls a gateway process makes.

The event loop only sees a :class:`CoreBinding`, so it can drive the real
core over the in-process state (the default) or any other state backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from antechamber.core.types import RequestFacts, RoomConfig


@dataclass(frozen=True, slots=True)
class CoreBinding:
    """Bound functions for one room's state, plus readers for the numbers the report needs."""

    decide: Callable[[RoomConfig, Any, Any, RequestFacts, int, Any], Any]
    snapshot: Callable[[str, int], Any]
    apply: Callable[[str, Any, int], None]
    memory_bytes: Callable[[], int]
    #: (active, waiting) as the core counts them, from a snapshot.
    counts: Callable[[Any], tuple[int, int]]
    #: From a queue response's info: (``waitTime`` shown, the unrounded estimate), both in
    #: minutes, or ``None`` when ``waitTimeKnown`` is false.
    wait_estimate: Callable[[Any], tuple[float, float] | None]


def real_core() -> CoreBinding:
    """The real decision core over a fresh in-process state."""
    raise NotImplementedError("waiting for antechamber.core.decide and antechamber.state.memory")
