"""Cookie keys on disk: generated on first start, rotated on demand, never logged.

``<data_dir>/cookie-keys.json`` (mode 0600) holds the current key id and the
keys, base64url-encoded. Rotation adds a new current key and keeps the
previous few for opening cookies sealed before the rotation.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
from pathlib import Path

from antechamber.core.cookie import KEY_BYTES, KeyRing

KEYS_FILE = "cookie-keys.json"
#: Keys kept besides the current one; cookies live at most 30 minutes, so one
#: previous key already covers a rotation, the rest is slack.
KEEP_PREVIOUS = 3


class KeyStoreError(RuntimeError):
    """The key file exists but cannot be used (its contents are never included)."""


def keys_path(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir) / KEYS_FILE


def load_or_create_keys(data_dir: str | os.PathLike[str]) -> KeyRing:
    """The key ring from ``data_dir``, creating a fresh one on first start."""
    path = keys_path(data_dir)
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        ring = KeyRing(current_id=1, keys={1: secrets.token_bytes(KEY_BYTES)})
        try:
            _write(path, ring, exclusive=True)
        except FileExistsError:  # another process created it first: use theirs
            return _parse(path.read_text(encoding="ascii"))
        return ring
    return _parse(text)


def rotate_keys(data_dir: str | os.PathLike[str], keep: int = KEEP_PREVIOUS) -> KeyRing:
    """Make a new current key; keep the ``keep`` most recent previous ones for opening."""
    ring = load_or_create_keys(data_dir)
    kept = [k for k in _ids_before(ring.current_id) if k in ring.keys][: max(0, keep)]
    new_id = next(i for i in _ids_after(ring.current_id) if i not in kept)
    keys = {k: ring.keys[k] for k in kept}
    keys[new_id] = secrets.token_bytes(KEY_BYTES)
    rotated = KeyRing(current_id=new_id, keys=keys)
    _write(keys_path(data_dir), rotated, exclusive=False)
    return rotated


def _ids_after(key_id: int) -> list[int]:
    """Key ids 1..255 in order after ``key_id`` (0 is never used, so it can mean "none")."""
    return [(key_id + step - 1) % 255 + 1 for step in range(1, 256)]


def _ids_before(key_id: int) -> list[int]:
    """Key ids from ``key_id`` going back, newest first."""
    return [(key_id - step - 1) % 255 + 1 for step in range(255)]


def _parse(text: str) -> KeyRing:
    try:
        data = json.loads(text)
        keys = {int(k): base64.urlsafe_b64decode(v) for k, v in data["keys"].items()}
        return KeyRing(current_id=int(data["current"]), keys=keys)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise KeyStoreError("the cookie key file is malformed") from exc


def _write(path: Path, ring: KeyRing, *, exclusive: bool) -> None:
    """Write the key file atomically with mode 0600 (the key never exists world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "current": ring.current_id,
        "keys": {str(k): base64.urlsafe_b64encode(v).decode("ascii") for k, v in ring.keys.items()},
    }
    body = json.dumps(data, indent=2).encode("ascii")
    # Write a private temporary file, then publish it in one step: readers never
    # see a partial file, and the first start of two processes keeps one key.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        if exclusive:
            os.link(tmp, path)  # raises FileExistsError if someone was first
        else:
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
