"""The challenge behind ``turnstile_mode``: self-hosted ALTCHA by default, Cloudflare Turnstile on request.

- ``result``: :class:`Result` (``passed`` / ``failed`` / ``error``, reasons, bot signal).
- ``altcha``: :class:`Altcha` issues proof-of-work challenges bound to a room and a
  visitor, and redeems the widget's answers once each.
- ``spent``: the used-set port and its in-memory backend; ``spent_redis``: the shared one.
- ``turnstile``: :class:`Siteverify`, the client for Cloudflare's token check.
- ``widget``: the ``{{{turnstile}}}`` markup per mode and provider, and the request flow
  between the widget and the gateway (its module docstring).
- ``static/``: the vendored ALTCHA widget (MIT), served by the gateway.
"""

from __future__ import annotations

from antechamber.challenge.altcha import Altcha, Difficulty
from antechamber.challenge.result import Outcome, Result
from antechamber.challenge.spent import MemorySpentSet, SpentSet, SpentSetUnavailable
from antechamber.challenge.spent_redis import RedisSpentSet
from antechamber.challenge.turnstile import Siteverify, action_for
from antechamber.challenge.widget import Endpoints, altcha_widget, turnstile_widget

__all__ = [
    "Altcha",
    "Difficulty",
    "Endpoints",
    "MemorySpentSet",
    "Outcome",
    "RedisSpentSet",
    "Result",
    "Siteverify",
    "SpentSet",
    "SpentSetUnavailable",
    "action_for",
    "altcha_widget",
    "turnstile_widget",
]
