"""Values and helpers the challenge tests share."""

from __future__ import annotations

import time
from typing import Any

import altcha

from antechamber.challenge.altcha import Difficulty
from antechamber.core.cookie import KeyRing

ROOM = "0123456789abcdef0123456789abcdef"
VISITOR = "1780315200000:3141592653"
KEYS = KeyRing(current_id=1, keys={1: bytes(range(32))})
#: Quick to solve in Python: the unit tests exercise the checks, not the work.
EASY = Difficulty(algorithm="PBKDF2/SHA-256", cost=10, max_number=40)


def now_ms() -> int:
    """The real time: the ``altcha`` package checks expiry against the system clock too."""
    return time.time_ns() // 1_000_000


def solve(challenge: dict[str, Any]) -> str:
    """The payload the widget would post for ``challenge``, found by the ``altcha`` package's solver."""
    parsed = altcha.Challenge.from_dict(challenge)
    solution = altcha.solve_challenge(parsed, timeout=30)
    assert solution is not None
    return altcha.Payload(parsed, solution).to_base64()
