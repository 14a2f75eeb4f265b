"""What checking a challenge answer found, the same shape for ALTCHA and Turnstile."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """``passed``; ``failed`` (the answer is wrong); ``error`` (we could not tell: siteverify down)."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome and why.

    ``reasons`` are short machine-readable codes (``"expired"``, ``"replayed"``,
    Turnstile's ``error-codes``, ``"timeout"`` ...). ``bot`` marks a failure no honest
    browser produces (a forged signature, a wrong proof, a reused answer): only those
    should send a visitor to the infinite queue. A failure an honest visitor can hit (the
    challenge expired while the tab slept, the cookie changed meanwhile) leaves ``bot``
    false, and so does every ``error``.
    """

    outcome: Outcome
    reasons: tuple[str, ...] = ()
    bot: bool = False

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PASSED


PASSED = Result(Outcome.PASSED)


def failed(reason: str, *, bot: bool) -> Result:
    """A ``failed`` result with one reason."""
    return Result(Outcome.FAILED, (reason,), bot)


def error(reason: str) -> Result:
    """An ``error`` result: no verdict on the visitor."""
    return Result(Outcome.ERROR, (reason,))
