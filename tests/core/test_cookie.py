"""The cookie codec: round trip, tamper resistance, room binding, never raising on input."""

from __future__ import annotations

import base64
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from antechamber.core.cookie import CookieCodec, KeyRing, cookie_name
from antechamber.core.ticket import FLAG_PLACED, Ticket
from tests.core.harness import MINUTE, T0

RING = KeyRing(current_id=7, keys={7: bytes(range(32))})
CODEC = CookieCodec(RING)
NAME = cookie_name()

u64 = st.integers(min_value=0, max_value=2**63)
u32 = st.integers(min_value=0, max_value=2**32 - 1)
tickets = st.builds(
    Ticket,
    arrival_ms=u64,
    position_s=u32,
    rank=u32,
    refresh_ms=u64,
    accepted_ms=u64,
    expires_ms=u64,
    event_tag=u32,
    flags=st.integers(min_value=0, max_value=255),
)
QUEUED = Ticket(arrival_ms=T0, position_s=T0 // 1000, rank=99, refresh_ms=T0, flags=FLAG_PLACED)


def _raw(value: str) -> bytearray:
    return bytearray(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))


def _wire(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_cookie_names() -> None:
    """The cookie is __cfwaitingroom, or __cfwaitingroom_<suffix> with a cookie_suffix."""
    assert cookie_name() == "__cfwaitingroom"
    assert cookie_name("shop") == "__cfwaitingroom_shop"


@settings(deadline=None)  # a loaded CI box must not turn slowness into failures
@given(tickets, st.text(min_size=1, max_size=40))
def test_round_trip(ticket: Ticket, room_id: str) -> None:
    """Any ticket sealed for a room opens back to the same ticket in that room."""
    value = CODEC.seal(ticket, room_id=room_id, name=NAME)
    assert len(value) == 100 and value.isascii()
    assert CODEC.open(value, room_id=room_id, name=NAME) == ticket


@settings(deadline=None)  # a loaded CI box must not turn slowness into failures
@given(st.data())
def test_any_flipped_byte_is_rejected(data: st.DataObject) -> None:
    """Changing any bit of any byte of a sealed cookie makes it open to None."""
    raw = _raw(CODEC.seal(QUEUED, room_id="r", name=NAME))
    i = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    raw[i] ^= data.draw(st.integers(min_value=1, max_value=255))
    assert CODEC.open(_wire(bytes(raw)), room_id="r", name=NAME) is None


def test_cookie_from_another_room_or_name_is_worthless() -> None:
    """The room id and cookie name are bound as associated data: elsewhere the cookie opens to None."""
    value = CODEC.seal(QUEUED, room_id="room-a", name=NAME)
    assert CODEC.open(value, room_id="room-b", name=NAME) is None
    assert CODEC.open(value, room_id="room-a", name=cookie_name("x")) is None
    assert CODEC.open(value, room_id="room-a", name=NAME) == QUEUED


@settings(deadline=None)  # a loaded CI box must not turn slowness into failures
@given(st.one_of(st.none(), st.text(max_size=200), st.from_regex(r"[A-Za-z0-9_-]{100}", fullmatch=True)))
def test_garbage_never_raises(value: str | None) -> None:
    """Missing, malformed or random cookie values open to None without raising."""
    assert CODEC.open(value, room_id="r", name=NAME) is None


def test_plus_slash_and_padding_variants_are_rejected() -> None:
    """Only the exact unpadded base64url form is accepted."""
    value = CODEC.seal(QUEUED, room_id="r", name=NAME)
    assert CODEC.open(value + "=", room_id="r", name=NAME) is None
    assert CODEC.open(value.replace("-", "+").replace("_", "/"), room_id="r", name=NAME) in (None, QUEUED)
    if "-" in value or "_" in value:
        assert CODEC.open(value.replace("-", "+").replace("_", "/"), room_id="r", name=NAME) is None


def test_expired_cookies_open_to_none_when_given_the_time() -> None:
    """A queued ticket past its 5-minute hold, or a session past its expiry, opens to None."""
    value = CODEC.seal(QUEUED, room_id="r", name=NAME)
    assert CODEC.open(value, room_id="r", name=NAME, now_ms=T0 + 5 * MINUTE - 1) == QUEUED
    assert CODEC.open(value, room_id="r", name=NAME, now_ms=T0 + 5 * MINUTE) is None
    session = Ticket(arrival_ms=T0, position_s=0, rank=0, accepted_ms=T0, expires_ms=T0 + MINUTE)
    value = CODEC.seal(session, room_id="r", name=NAME)
    assert CODEC.open(value, room_id="r", name=NAME, now_ms=T0 + MINUTE) is None


def test_rotation_opens_old_cookies_and_seals_with_the_new_key() -> None:
    """After rotation cookies sealed with a kept key still open; new ones carry the new key id."""
    old_value = CODEC.seal(QUEUED, room_id="r", name=NAME)
    rotated = CookieCodec(KeyRing(current_id=8, keys={7: RING.keys[7], 8: secrets.token_bytes(32)}))
    assert rotated.open(old_value, room_id="r", name=NAME) == QUEUED
    new_value = rotated.seal(QUEUED, room_id="r", name=NAME)
    assert _raw(new_value)[0] == 8
    assert CODEC.open(new_value, room_id="r", name=NAME) is None  # key 8 is unknown there
    dropped = CookieCodec(KeyRing(current_id=9, keys={9: secrets.token_bytes(32)}))
    assert dropped.open(old_value, room_id="r", name=NAME) is None


def test_nonces_differ_so_equal_tickets_give_different_cookies() -> None:
    """Each seal draws a fresh nonce: the same ticket never yields the same cookie twice."""
    assert CODEC.seal(QUEUED, room_id="r", name=NAME) != CODEC.seal(QUEUED, room_id="r", name=NAME)


def test_key_ring_hides_keys_and_checks_them() -> None:
    """The key ring's repr never shows key bytes, and bad rings are refused."""
    assert "keys" not in repr(RING) and str(RING.keys[7]) not in repr(RING)
    with pytest.raises(ValueError):
        KeyRing(current_id=1, keys={2: bytes(32)})
    with pytest.raises(ValueError):
        KeyRing(current_id=1, keys={1: bytes(16)})


def test_replace_keys_opens_with_kept_keys_and_refuses_dropped_ones() -> None:
    """After replace_keys a cookie opens iff its key id is in the new ring with the same key; new ones seal with it."""
    codec = CookieCodec(RING)
    old_value = codec.seal(QUEUED, room_id="r", name=NAME)
    codec.replace_keys(KeyRing(current_id=8, keys={7: RING.keys[7], 8: secrets.token_bytes(32)}))
    assert codec.keyring.current_id == 8
    assert codec.open(old_value, room_id="r", name=NAME) == QUEUED  # key 7 is kept
    new_value = codec.seal(QUEUED, room_id="r", name=NAME)
    assert _raw(new_value)[0] == 8
    codec.replace_keys(KeyRing(current_id=9, keys={8: codec.keyring.keys[8], 9: secrets.token_bytes(32)}))
    assert codec.open(old_value, room_id="r", name=NAME) is None  # key 7 was dropped
    assert codec.open(new_value, room_id="r", name=NAME) == QUEUED
    codec.replace_keys(KeyRing(current_id=8, keys={8: secrets.token_bytes(32)}))
    assert codec.open(new_value, room_id="r", name=NAME) is None  # same id, another key: refused
