"""The self-hosted challenge: ALTCHA proof of work, bound to a room and a visitor.

:meth:`Altcha.issue` makes the challenge the widget fetches; :meth:`Altcha.redeem`
checks the payload the widget posts back and spends it. A payload passes only when

* its parameters carry our HMAC (nothing in them can be edited: algorithm, cost,
  expiry and the binding are all signed),
* it has not expired (``ttl_s`` after issue, by our clock and the library's),
* it was issued for this room and this visitor (``data.r`` is the room id, ``data.v``
  a keyed hash of room and visitor, so the visitor id never shows in the page),
* its proof is right (the derived key matches the key signature made at issue), and
* it was not redeemed before (the :class:`~antechamber.challenge.spent.SpentSet`).

The challenge is in ALTCHA's deterministic mode: issue draws the counter the browser
must reach (uniform in ``[max_number // 2, max_number)``) and signs the derived key,
so solving costs about ``counter`` key derivations while checking costs one HMAC.

Keys come from the cookie :class:`~antechamber.core.cookie.KeyRing` (domain-separated
by HMAC), so challenges follow its rotation: ``data.k`` names the key that signed a
challenge, and any key still in the ring verifies it.

The used-set: one process needs only :class:`~antechamber.challenge.spent.MemorySpentSet`.
Several gateway nodes must share one, or a payload redeemed on one node can be redeemed
again on another: :class:`~antechamber.challenge.spent_redis.RedisSpentSet` does it with
one ``SET key 1 NX PX ttl`` per redemption.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

import altcha

from antechamber.challenge.result import PASSED, Result, error, failed
from antechamber.challenge.spent import SpentSet, SpentSetUnavailable
from antechamber.core.cookie import KeyRing

#: How long a challenge may be solved and redeemed (the widget also refetches after it).
DEFAULT_TTL_S = 300
#: A real payload is under 1 KB; anything far larger is not from the widget.
MAX_PAYLOAD_CHARS = 4096


@dataclass(frozen=True, slots=True)
class Difficulty:
    """How much work a challenge asks for.

    ``algorithm`` and ``cost`` set one attempt: 1,000 PBKDF2-SHA-256 rounds, which the
    browser's native WebCrypto runs at near a native bot's speed (single SHA-256 calls
    would not be: their per-call overhead is ~100 times the hash, a bot's head start).
    ``max_number`` bounds the attempts (the counter is drawn in ``[max_number // 2,
    max_number)``). Measured in headless Chromium on a shared 2-vCPU machine (two
    workers), the defaults solve in 0.2–0.9 s, median ~0.55 s; issuing costs the server
    one derivation (~0.8 ms), checking one HMAC.
    """

    algorithm: str = "PBKDF2/SHA-256"
    cost: int = 1_000
    max_number: int = 1_000

    def __post_init__(self) -> None:
        if self.max_number < 2 or self.cost < 1:
            raise ValueError("max_number must be at least 2 and cost at least 1")


@dataclass(frozen=True, slots=True)
class Checked:
    """A payload's check before spending: the result, and what to spend when it passed."""

    result: Result
    nonce: str = ""
    expires_at: int = 0


def _subkey(key: bytes, label: bytes) -> bytes:
    return hmac.new(key, b"antechamber challenge v1\0" + label, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class _Keys:
    sign: bytes
    key_signature: bytes
    bind: bytes


def _derive(keyring: KeyRing) -> tuple[int, dict[int, _Keys]]:
    keys = {
        key_id: _Keys(_subkey(key, b"sign"), _subkey(key, b"key-signature"), _subkey(key, b"bind"))
        for key_id, key in keyring.keys.items()
    }
    return keyring.current_id, keys


def _binding(bind_key: bytes, room_id: str, visitor: str) -> str:
    return hmac.new(bind_key, f"{room_id}\0{visitor}".encode(), hashlib.sha256).hexdigest()[:32]


def _decode(payload: str) -> altcha.Payload | None:
    if not payload or len(payload) > MAX_PAYLOAD_CHARS:
        return None
    try:
        decoded = json.loads(base64.b64decode(payload, validate=True))
        parsed = altcha.Payload.from_dict(decoded)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, binascii.Error):
        return None
    if not isinstance(parsed.challenge.parameters.data, dict):
        return None
    return parsed


class Altcha:
    """Issues and redeems proof-of-work challenges.

    Example::

        altcha = Altcha(keyring)
        challenge = altcha.issue(room_id, visitor, now_ms=clock())  # JSON for the widget
        result = await altcha.redeem(payload, room_id, visitor, now_ms=clock(), spent=spent_set)

    Args:
        keyring: the cookie keys; every gateway node must hold the same ring.
        difficulty: the work asked of the browser.
        ttl_s: seconds from issue until a challenge expires.
    """

    __slots__ = ("_keys", "difficulty", "ttl_s")

    def __init__(self, keyring: KeyRing, *, difficulty: Difficulty | None = None, ttl_s: int = DEFAULT_TTL_S) -> None:
        if ttl_s < 1:
            raise ValueError("ttl_s must be positive")
        self._keys = _derive(keyring)
        self.difficulty = difficulty or Difficulty()
        self.ttl_s = ttl_s

    def replace_keys(self, keyring: KeyRing) -> None:
        """Use a new key ring (a rotated key file); challenges signed by dropped keys stop verifying."""
        self._keys = _derive(keyring)

    def issue(self, room_id: str, visitor: str, *, now_ms: int) -> dict[str, Any]:
        """A fresh challenge for ``visitor`` in ``room_id``, as the widget's JSON.

        ``visitor`` must be something the client cannot choose, that stays the same
        while it waits: the gateway's id from the sealed ticket, not a raw header.
        ``now_ms`` is the real time: the library also checks expiry against the system clock.
        """
        current_id, keys = self._keys
        key = keys[current_id]
        level = self.difficulty
        low = level.max_number // 2
        challenge = altcha.create_challenge(
            level.algorithm,
            level.cost,
            counter=low + secrets.randbelow(level.max_number - low),
            expires_at=now_ms // 1000 + self.ttl_s,
            data={"k": current_id, "r": room_id, "v": _binding(key.bind, room_id, visitor)},
            hmac_secret=key.sign,
            hmac_key_secret=key.key_signature,
        )
        issued: dict[str, Any] = challenge.to_dict()
        return issued

    def check(self, payload: str, room_id: str, visitor: str, *, now_ms: int) -> Checked:
        """Everything but the once-only rule: signature, expiry, binding and proof (no I/O)."""
        parsed = _decode(payload)
        if parsed is None:
            return Checked(failed("malformed", bot=True))
        params = parsed.challenge.parameters
        data: dict[str, Any] = params.data or {}
        key_id = data.get("k")
        keys = self._keys[1]
        key = keys.get(key_id) if isinstance(key_id, int) and not isinstance(key_id, bool) else None
        if key is None:
            # A key rotated out of the ring while the visitor was solving: not the visitor's fault.
            return Checked(failed("unknown-key", bot=False))
        verdict = altcha.verify_solution(parsed, key.sign, hmac_key_secret=key.key_signature)
        if verdict.expired:
            return Checked(failed("expired", bot=False))
        if verdict.invalid_signature:
            return Checked(failed("bad-signature", bot=True))
        # Without a signed key signature the library would re-derive the key at the
        # client's chosen cost; we always sign one, so its absence is tampering.
        if not verdict.verified or not params.key_signature:
            return Checked(failed("wrong-solution", bot=True))
        expires_at = params.expires_at
        if not isinstance(expires_at, int) or expires_at * 1000 <= now_ms:
            return Checked(failed("expired", bot=False))
        if data.get("r") != room_id:
            return Checked(failed("wrong-room", bot=False))
        if not hmac.compare_digest(str(data.get("v", "")), _binding(key.bind, room_id, visitor)):
            # The visitor's ticket changed since the challenge was fetched (cookie expired,
            # cleared) as easily as it was stolen: not a bot signal on its own.
            return Checked(failed("wrong-visitor", bot=False))
        return Checked(PASSED, params.nonce, expires_at)

    async def redeem(self, payload: str, room_id: str, visitor: str, *, now_ms: int, spent: SpentSet) -> Result:
        """Check ``payload`` and spend it: passes once, then ``replayed`` every time after.

        The result is ``error`` (``replay-check-unavailable``) when the used-set cannot
        be reached: the proof was right, but its reuse cannot be ruled out.
        """
        checked = self.check(payload, room_id, visitor, now_ms=now_ms)
        if not checked.result.passed:
            return checked.result
        try:
            first = await spent.spend(checked.nonce, expires_ms=checked.expires_at * 1000, now_ms=now_ms)
        except SpentSetUnavailable:
            return error("replay-check-unavailable")
        return checked.result if first else failed("replayed", bot=True)
