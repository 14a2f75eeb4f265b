"""A room's analytics minutes as the columns the dashboard's charts draw.

uPlot takes one array per series over a shared time axis. Minutes without data
are gaps (``None``), so a quiet hour shows as quiet rather than as a line drawn
across it. Long ranges are cut into at most :data:`MAX_POINTS` bins, each showing
its highest minute: a peak is what an operator looks for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

MAX_POINTS = 720
#: The figures drawn, as the analytics endpoint names them.
SERIES = (
    "active_users_max",
    "active_users_limit",
    "queued_users_max",
    "new_users",
    "new_users_limit",
    "wait_p50_seconds",
    "wait_p90_seconds",
    "wait_p99_seconds",
)


def _minute_s(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def columns(minutes: Iterable[Mapping[str, Any]], since: datetime, until: datetime) -> dict[str, Any]:
    """``{"t": [unix seconds], series: [values or None], "bin_minutes": k}`` from ``since`` to ``until``."""
    first = int(since.timestamp()) // 60
    last = max(first, (int(until.timestamp()) - 1) // 60)
    span = last - first + 1
    bin_minutes = max(1, -(-span // MAX_POINTS))
    bins = -(-span // bin_minutes)
    out: dict[str, Any] = {"t": [(first + i * bin_minutes) * 60 for i in range(bins)], "bin_minutes": bin_minutes}
    for name in SERIES:
        out[name] = [None] * bins
    for minute in minutes:
        index = (_minute_s(str(minute["minute"])) // 60 - first) // bin_minutes
        if not 0 <= index < bins:
            continue
        for name in SERIES:
            value = minute.get(name)
            if value is None:
                continue
            held = out[name][index]
            out[name][index] = value if held is None else max(held, value)
    return out
