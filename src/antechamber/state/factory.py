"""``--state URL`` → a backend: one option, and no ``if backend == …`` in the callers (after ``limits``)."""

from __future__ import annotations

from pathlib import Path

from antechamber.state.base import FailurePolicy, RoomState

#: Schemes of the Redis backend (redis-py's, plus a Cluster seed node).
REDIS_SCHEMES = ("redis://", "rediss://", "unix://", "redis+cluster://", "rediss+cluster://")
#: The file the in-process backend saves its counters to, in the data directory.
MEMORY_STATE_FILE = "room-state.bin"


def check_state_url(url: str) -> None:
    """Raise ValueError naming the accepted forms when ``url`` is neither ``memory`` nor a Redis URL."""
    if url != "memory" and not url.startswith(REDIS_SCHEMES):
        forms = "memory or a redis://, rediss://, unix:// or redis+cluster:// URL"
        raise ValueError(f"--state must be {forms}, got {url!r}")


def is_shared(url: str) -> bool:
    """Whether the backend is shared between processes (so several workers may use it)."""
    return url != "memory"


def open_state(
    url: str,
    *,
    data_dir: Path,
    prefix: str = "antechamber",
    policy: FailurePolicy = "hold",
    open_for_s: float = 60.0,
) -> RoomState:
    """The backend ``url`` names; the Redis client is imported only when asked for."""
    check_state_url(url)
    if url == "memory":
        from antechamber.state.memory import MemoryState

        # Saved every few seconds and on shutdown, so a restarted node keeps its line (one process owns the file).
        return MemoryState(data_dir / MEMORY_STATE_FILE)
    from antechamber.state.redis import RedisState

    return RedisState(url, prefix=prefix, policy=policy, open_for_s=open_for_s)
