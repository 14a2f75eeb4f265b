"""Cookie keys on disk: created once with mode 0600, rotated, never shown."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from antechamber.keystore import KeyStoreError, keys_path, load_or_create_keys, rotate_keys


def test_first_start_creates_a_private_key_file(tmp_path: Path) -> None:
    """The first load generates a 32-byte key and stores it readable by the owner only."""
    ring = load_or_create_keys(tmp_path / "data")
    path = keys_path(tmp_path / "data")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(ring.keys[ring.current_id]) == 32


def test_later_starts_load_the_same_keys(tmp_path: Path) -> None:
    """Loading again returns the stored keys, so cookies survive restarts."""
    assert load_or_create_keys(tmp_path) == load_or_create_keys(tmp_path)


def test_rotation_adds_a_current_key_and_keeps_some_previous(tmp_path: Path) -> None:
    """rotate_keys makes a new current key and keeps the most recent previous keys for opening."""
    first = load_or_create_keys(tmp_path)
    second = rotate_keys(tmp_path)
    assert second.current_id != first.current_id
    assert second.keys[first.current_id] == first.keys[first.current_id]
    assert load_or_create_keys(tmp_path) == second
    for _ in range(5):
        last = rotate_keys(tmp_path, keep=2)
    assert len(last.keys) == 3 and first.current_id not in last.keys
    assert stat.S_IMODE(keys_path(tmp_path).stat().st_mode) == 0o600


def test_rotation_wraps_key_ids_within_one_byte(tmp_path: Path) -> None:
    """Key ids stay in 1..255 however often the key is rotated."""
    ring = load_or_create_keys(tmp_path)
    for _ in range(300):
        ring = rotate_keys(tmp_path, keep=1)
    assert all(1 <= k <= 255 for k in ring.keys) and len(ring.keys) == 2


def test_malformed_key_file_fails_without_echoing_it(tmp_path: Path) -> None:
    """A corrupt key file raises KeyStoreError whose message does not include the file's contents."""
    keys_path(tmp_path).write_text('{"current": 1, "keys": {"1": "c2VjcmV0"}}')
    with pytest.raises(KeyStoreError) as info:
        load_or_create_keys(tmp_path)
    assert "c2VjcmV0" not in str(info.value)
