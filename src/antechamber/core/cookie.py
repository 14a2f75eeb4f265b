"""The cookie codec: a packed ticket sealed with AES-256-GCM-SIV.

Wire format (then base64url without padding)::

    key id (1 byte) | nonce (12 bytes) | ciphertext of the payload + tag (16 bytes)

The associated data binds the cookie name and the room id, so a cookie from
one room opens to nothing in another. Opening never raises on visitor input:
anything missing, malformed, tampered, foreign or expired opens to ``None``,
which the decision treats as a new user.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV

from antechamber.core.ticket import Ticket

COOKIE_PREFIX = "__cfwaitingroom"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
_VERSION = 1
# version, arrival_ms, position_s, rank, refresh_ms, accepted_ms, expires_ms, event_tag, flags
_PAYLOAD = struct.Struct("<BQIIQQQIB")
_SEALED_BYTES = 1 + NONCE_BYTES + _PAYLOAD.size + TAG_BYTES
_COOKIE_CHARS = -(-_SEALED_BYTES * 4 // 3)  # base64 without padding
# Exactly the unpadded base64url alphabet and length: b64decode alone would skip
# stray characters and accept "+" and "/" as well.
_COOKIE_RE = re.compile(rf"[A-Za-z0-9_-]{{{_COOKIE_CHARS}}}")
_U32 = 0xFFFFFFFF
_U64 = 0xFFFFFFFFFFFFFFFF


def cookie_name(cookie_suffix: str = "", prefix: str = COOKIE_PREFIX) -> str:
    """``__cfwaitingroom``, or ``__cfwaitingroom_<suffix>`` when the room sets a suffix."""
    return f"{prefix}_{cookie_suffix}" if cookie_suffix else prefix


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The current sealing key and the older keys still accepted for opening."""

    current_id: int
    keys: Mapping[int, bytes] = field(repr=False)

    def __post_init__(self) -> None:
        if self.current_id not in self.keys:
            raise ValueError("the current key id has no key")
        for key_id, key in self.keys.items():
            if not 0 <= key_id <= 255 or len(key) != KEY_BYTES:
                raise ValueError("key ids are one byte and keys 32 bytes")


#: A codec's keys: the ring, its sealing key id, and an AEAD object per key id.
_Keys = tuple[KeyRing, int, dict[int, AESGCMSIV]]


class CookieCodec:
    """Seals tickets into cookie values and opens them again.

    Build one per key ring at start-up: the AEAD objects are made once, not
    per request. :meth:`replace_keys` swaps in a new ring (a changed key file)
    while requests go on.
    """

    __slots__ = ("_keys", "_nonce")

    def __init__(self, keyring: KeyRing, *, nonce_source: Callable[[int], bytes] = os.urandom) -> None:
        # One attribute, so a key swap is one assignment.
        self._keys: _Keys = _prepare(keyring, None)
        self._nonce = nonce_source

    @property
    def keyring(self) -> KeyRing:
        """The key ring in use."""
        return self._keys[0]

    def replace_keys(self, keyring: KeyRing) -> None:
        """Seal with ``keyring``'s current key and open with its keys from now on.

        The AEAD objects are built before the swap (reusing those of unchanged keys),
        and the swap is a single attribute assignment: a request sees either the old
        ring or the new one, never a mix. Callers that cache opened cookies must drop
        them, or a cookie sealed with a key no longer in the ring would keep opening.
        """
        self._keys = _prepare(keyring, self._keys)

    def seal(self, ticket: Ticket, *, room_id: str, name: str) -> str:
        """The cookie value for ``ticket`` in room ``room_id`` under cookie ``name``."""
        payload = _PAYLOAD.pack(
            _VERSION,
            ticket.arrival_ms & _U64,
            ticket.position_s & _U32,
            ticket.rank & _U32,
            ticket.refresh_ms & _U64,
            ticket.accepted_ms & _U64,
            ticket.expires_ms & _U64,
            ticket.event_tag & _U32,
            ticket.flags & 0xFF,
        )
        _ring, key_id, aeads = self._keys
        nonce = self._nonce(NONCE_BYTES)
        sealed = aeads[key_id].encrypt(nonce, payload, _aad(key_id, name, room_id))
        raw = bytes((key_id,)) + nonce + sealed
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def open(self, value: str | None, *, room_id: str, name: str, now_ms: int | None = None) -> Ticket | None:
        """The ticket in ``value``, or None if it is missing, invalid or (given ``now_ms``) expired."""
        if not isinstance(value, str) or len(value) != _COOKIE_CHARS or not _COOKIE_RE.fullmatch(value):
            return None
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError):  # pragma: no cover - the pattern above rules it out
            return None
        if len(raw) != _SEALED_BYTES:
            return None
        aead = self._keys[2].get(raw[0])
        if aead is None:
            return None
        try:
            payload = aead.decrypt(raw[1 : 1 + NONCE_BYTES], raw[1 + NONCE_BYTES :], _aad(raw[0], name, room_id))
        except (InvalidTag, ValueError):
            return None
        version, arrival, position, rank, refresh, accepted, expires, tag, flags = _PAYLOAD.unpack(payload)
        if version != _VERSION:
            return None
        ticket = Ticket(arrival, position, rank, refresh, accepted, expires, tag, flags)
        if now_ms is not None and ticket.cookie_expires_ms <= now_ms:
            return None
        return ticket


def _prepare(keyring: KeyRing, previous: _Keys | None) -> _Keys:
    """The codec's keys for ``keyring``, reusing ``previous``'s AEAD objects for keys that did not change."""
    aeads: dict[int, AESGCMSIV] = {}
    for key_id, key in keyring.keys.items():
        if previous is not None and key_id in previous[2] and hmac.compare_digest(previous[0].keys[key_id], key):
            aeads[key_id] = previous[2][key_id]
        else:
            aeads[key_id] = AESGCMSIV(key)
    return keyring, keyring.current_id, aeads


def _aad(key_id: int, name: str, room_id: str) -> bytes:
    # NUL separators keep ("a", "bc") and ("ab", "c") apart.
    return b"antechamber-cookie\x00%d\x00%s\x00%s" % (key_id, name.encode(), room_id.encode())
