"""Cookie keys on disk: created once with mode 0600, rotated, never shown."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import stat
from pathlib import Path

import pytest

from antechamber.core.cookie import CookieCodec, KeyRing
from antechamber.core.ticket import Ticket
from antechamber.keystore import (
    KeyStoreError,
    KeyWatcher,
    keys_path,
    load_or_create_keys,
    read_key_file,
    rotate_keys,
    stage_key,
    use_key,
)


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


def test_stage_adds_a_key_that_opens_but_does_not_seal(tmp_path: Path) -> None:
    """stage_key adds a key to the ring, marked staged, while the current key stays current."""
    first = load_or_create_keys(tmp_path)
    staged = stage_key(tmp_path)
    keys = read_key_file(tmp_path)
    assert keys.ring.current_id == first.current_id and staged != first.current_id
    assert staged in keys.ring.keys and keys.staged == (staged,)
    assert [(info.key_id, info.state) for info in keys.describe()] == [
        (staged, "staged"),
        (first.current_id, "current"),
    ]
    assert all(info.created is not None for info in keys.describe())
    assert stat.S_IMODE(keys_path(tmp_path).stat().st_mode) == 0o600


def test_use_makes_a_staged_key_current_and_keeps_the_old_one(tmp_path: Path) -> None:
    """use_key seals with the staged key from then on; the previous current key is kept for opening."""
    first = load_or_create_keys(tmp_path)
    staged = stage_key(tmp_path)
    ring = use_key(tmp_path, staged)
    assert ring.current_id == staged and ring.keys[first.current_id] == first.keys[first.current_id]
    keys = read_key_file(tmp_path)
    assert keys.ring == ring and keys.staged == ()
    assert [(info.key_id, info.state) for info in keys.describe()] == [(staged, "current"), (first.current_id, "kept")]
    assert use_key(tmp_path, first.current_id).current_id == first.current_id  # and back: kept keys can be used
    assert stat.S_IMODE(keys_path(tmp_path).stat().st_mode) == 0o600


def test_use_of_an_unknown_id_fails_and_changes_nothing(tmp_path: Path) -> None:
    """use_key with an id not in the file raises KeyStoreError and leaves the file as it was."""
    load_or_create_keys(tmp_path)
    before = keys_path(tmp_path).read_bytes()
    with pytest.raises(KeyStoreError, match="no cookie key with id 42"):
        use_key(tmp_path, 42)
    assert keys_path(tmp_path).read_bytes() == before


def test_pruning_never_drops_the_current_or_a_staged_key(tmp_path: Path) -> None:
    """Kept keys beyond `keep` go (the most recent stay), but the current and staged keys always stay."""
    load_or_create_keys(tmp_path)
    for _ in range(4):
        rotate_keys(tmp_path)
    assert sorted(read_key_file(tmp_path).ring.keys) == [2, 3, 4, 5]  # current 5 and the 3 most recent others
    a = stage_key(tmp_path, keep=0)
    b = stage_key(tmp_path, keep=0)
    keys = read_key_file(tmp_path)
    assert sorted(keys.ring.keys) == [5, a, b] and keys.staged == (a, b)
    ring = use_key(tmp_path, b, keep=1)
    assert ring.current_id == b and sorted(ring.keys) == [a, b]  # a is the most recent other key
    assert read_key_file(tmp_path).staged == ()


def test_files_without_staging_or_creation_times_still_load(tmp_path: Path) -> None:
    """A key file from before staging loads, lists its keys without creation times, and can be staged on."""
    keys = {"1": base64.urlsafe_b64encode(bytes(32)).decode(), "2": base64.urlsafe_b64encode(bytes(range(32))).decode()}
    keys_path(tmp_path).write_text(json.dumps({"current": 2, "keys": keys}))
    old = read_key_file(tmp_path)
    assert [(i.key_id, i.state, i.created) for i in old.describe()] == [(2, "current", None), (1, "kept", None)]
    staged = stage_key(tmp_path)
    assert staged == 3 and read_key_file(tmp_path).ring.keys[1] == bytes(32)


def test_new_files_still_read_by_the_old_parser(tmp_path: Path) -> None:
    """Nodes that predate staging read only "current" and "keys": those stay as they were, staged keys included."""
    load_or_create_keys(tmp_path)
    staged = stage_key(tmp_path)
    data = json.loads(keys_path(tmp_path).read_text())
    old_view = KeyRing(
        current_id=int(data["current"]),
        keys={int(k): base64.urlsafe_b64decode(v) for k, v in data["keys"].items()},
    )
    assert old_view == read_key_file(tmp_path).ring and staged in old_view.keys


SESSION = Ticket(arrival_ms=1, position_s=0, rank=0, accepted_ms=1, expires_ms=2)


def test_watcher_swaps_in_a_changed_key_file(tmp_path: Path) -> None:
    """A key staged in the file reaches the codec at the watcher's next check, and the swap callback runs."""
    codec = CookieCodec(load_or_create_keys(tmp_path))
    swaps: list[int] = []
    watcher = KeyWatcher(tmp_path, codec, on_swap=lambda: swaps.append(codec.keyring.current_id))

    async def scenario() -> None:
        assert not await watcher.poll()  # the file holds the keys in use
        staged = stage_key(tmp_path)
        assert await watcher.poll()
        assert codec.keyring == read_key_file(tmp_path).ring and swaps == [1]
        assert not await watcher.poll()  # nothing changed since
        use_key(tmp_path, staged)
        assert await watcher.poll() and codec.keyring.current_id == staged

    asyncio.run(scenario())


def test_watcher_keeps_the_keys_when_the_file_is_corrupt_or_missing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A corrupt or missing key file is logged by error type only, once, and the keys in use stay."""
    ring = load_or_create_keys(tmp_path)
    codec = CookieCodec(ring)
    sealed = codec.seal(SESSION, room_id="r", name="n")
    watcher = KeyWatcher(tmp_path, codec)
    secret = base64.urlsafe_b64encode(ring.keys[ring.current_id]).decode()

    async def scenario() -> None:
        assert not await watcher.poll()
        keys_path(tmp_path).write_text('{"current": 1, "keys": {"1": "' + secret[:20])  # a copy cut short
        with caplog.at_level(logging.INFO, logger="antechamber.keystore"):
            assert not await watcher.poll()
            assert not await watcher.poll()
            keys_path(tmp_path).unlink()
            assert not await watcher.poll()
        assert codec.keyring == ring and codec.open(sealed, room_id="r", name="n") == SESSION
        stage_key(tmp_path)  # a good file again (a new one: the old was gone)
        assert await watcher.poll()

    asyncio.run(scenario())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "cookie key file not reloaded (KeyStoreError: JSONDecodeError); keeping the keys in use",
        "cookie key file unavailable (FileNotFoundError); keeping the keys in use",
    ]
    assert secret[:20] not in caplog.text
