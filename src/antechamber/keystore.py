"""Cookie keys on disk: generated on first start, staged and switched on demand, never logged.

``<data_dir>/cookie-keys.json`` (mode 0600) holds the current key id and the
keys, base64url-encoded, and (since key staging) which keys are staged and
when each key was made::

    {"current": 2, "keys": {"1": "...", "2": "...", "3": "..."},
     "staged": [3], "created": {"1": "2025-01-01T00:00:00Z", ...}}

``staged`` and ``created`` are optional, so files from before them still load,
and nodes that predate them read the new files (they ignore both).

A cookie is sealed with the current key and opens with any key in the file.
A *staged* key opens cookies but seals none yet: stage a key, let every node
learn it, then make it current (:func:`stage_key`, :func:`use_key`); on one
node :func:`rotate_keys` does both at once. Besides the current and the staged
keys, the :data:`KEEP_PREVIOUS` most recent other keys are kept for opening
cookies sealed before a switch; older ones are dropped.

A running node follows the file with :class:`KeyWatcher`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from antechamber.background import cancel_and_wait
from antechamber.core.cookie import KEY_BYTES, CookieCodec, KeyRing
from antechamber.private_files import write_private

logger = logging.getLogger(__name__)

KEYS_FILE = "cookie-keys.json"
#: Keys kept besides the current and the staged ones; cookies live at most 30 minutes,
#: so one previous key already covers a switch, the rest is slack.
KEEP_PREVIOUS = 3
#: Seconds between a running node's checks of the key file.
WATCH_INTERVAL = 2.0

KeyState = Literal["current", "staged", "kept"]


class KeyStoreError(RuntimeError):
    """The key file exists but cannot be used (its contents are never included)."""


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What may be shown about a key: its id, its state and when it was made, never the key."""

    key_id: int
    state: KeyState
    #: ISO 8601 UTC; None for keys made before the file recorded it.
    created: str | None


@dataclass(frozen=True, slots=True)
class KeyFile:
    """The key file's contents: the key ring, the staged key ids (oldest first) and creation times."""

    ring: KeyRing
    staged: tuple[int, ...] = ()
    created: Mapping[int, str] = field(default_factory=dict)

    def previous(self) -> list[int]:
        """The kept keys (neither current nor staged), most recent first.

        Most recent by creation time; keys without one are older than any with
        one, and among themselves (or made in the same second) the ids closest
        before the current id are the most recent, as ids are handed out in turn.
        """
        recency = {key_id: rank for rank, key_id in enumerate(_ids_before(self.ring.current_id))}
        kept = [k for k in self.ring.keys if k != self.ring.current_id and k not in self.staged]
        return sorted(kept, key=lambda k: (self.created.get(k, ""), -recency[k]), reverse=True)

    def describe(self) -> list[KeyInfo]:
        """Every key without its material: staged (newest first), current, then kept (newest first)."""
        rows = [KeyInfo(k, "staged", self.created.get(k)) for k in reversed(self.staged)]
        rows.append(KeyInfo(self.ring.current_id, "current", self.created.get(self.ring.current_id)))
        rows += [KeyInfo(k, "kept", self.created.get(k)) for k in self.previous()]
        return rows


def keys_path(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir) / KEYS_FILE


def load_or_create_keys(data_dir: str | os.PathLike[str]) -> KeyRing:
    """The key ring from ``data_dir``, creating a fresh one on first start."""
    return _load_or_create(data_dir).ring


def read_key_file(data_dir: str | os.PathLike[str]) -> KeyFile:
    """The key file as it is; raises FileNotFoundError when there is none, KeyStoreError when it is malformed."""
    return _parse(keys_path(data_dir).read_bytes())


def stage_key(data_dir: str | os.PathLike[str], keep: int = KEEP_PREVIOUS) -> int:
    """Add a key that opens cookies but seals none yet; return its id.

    Make it current with :func:`use_key` once every node has the file. Kept keys
    beyond the ``keep`` most recent are dropped; the current and staged ones never.
    """
    staged, key_id = _staged(_load_or_create(data_dir))
    _write(keys_path(data_dir), _pruned(staged, keep), exclusive=False)
    return key_id


def use_key(data_dir: str | os.PathLike[str], key_id: int, keep: int = KEEP_PREVIOUS) -> KeyRing:
    """Seal with the (staged or kept) key ``key_id`` from now on; raises KeyStoreError for an unknown id.

    The key that was current is kept for opening; other staged keys become kept
    keys too (a choice was made), and kept keys beyond the ``keep`` most recent are dropped.
    """
    used = _pruned(_used(read_key_file(data_dir), key_id), keep)
    _write(keys_path(data_dir), used, exclusive=False)
    return used.ring


def rotate_keys(data_dir: str | os.PathLike[str], keep: int = KEEP_PREVIOUS) -> KeyRing:
    """Make a new current key at once (stage and use in one write); keep the ``keep`` most recent others.

    Only safe where every node sees the new file at the same moment (one node); several
    nodes stage, spread the file, then switch.
    """
    staged, key_id = _staged(_load_or_create(data_dir))
    rotated = _pruned(_used(staged, key_id), keep)
    _write(keys_path(data_dir), rotated, exclusive=False)
    return rotated.ring


class KeyWatcher:
    """Keeps a running node's codec in step with the key file.

    Every ``interval`` seconds it stats the file (off the event loop: the data
    directory may be a network share); when the inode, size, or modification or
    change time moved, it reads the file, and when that holds a valid key ring
    different from the codec's, swaps it in with :meth:`CookieCodec.replace_keys`
    and calls ``on_swap`` right after, in the same step (the gateway drops its
    cache of opened cookies there). A file that is missing, unreadable or
    malformed is logged by the error's type only, once per change, and the keys
    in use stay.

    Example::

        watcher = KeyWatcher(data_dir, codec, on_swap=gateway.admission.clear_cookie_cache)
        watcher.start()
        ...
        await watcher.aclose()
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        codec: CookieCodec,
        *,
        on_swap: Callable[[], None] | None = None,
        interval: float = WATCH_INTERVAL,
    ) -> None:
        self.path = keys_path(data_dir)
        self.codec = codec
        self.on_swap = on_swap
        self.interval = interval
        self._seen: tuple[object, ...] | None = None
        self._task: asyncio.Task[None] | None = None

    async def poll(self) -> bool:
        """Check the file once; return whether new keys were swapped in."""
        ring = await asyncio.to_thread(self._read_if_changed)
        if ring is None or ring == self.codec.keyring:
            return False
        self.codec.replace_keys(ring)
        if self.on_swap is not None:
            self.on_swap()
        logger.info(
            "cookie keys reloaded: sealing with key %d, opening with keys %s",
            ring.current_id,
            ", ".join(str(k) for k in sorted(ring.keys)),
        )
        return True

    def start(self) -> None:
        """Follow the file in the background (the first check runs at once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="antechamber-key-watcher")

    async def aclose(self) -> None:
        """Stop following the file."""
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the watcher must outlive any surprise; the keys in use stay
                logger.warning("checking the cookie key file failed (%s)", type(exc).__name__)
            await asyncio.sleep(self.interval)

    def _read_if_changed(self) -> KeyRing | None:
        """The file's key ring if the file changed since the last look and is valid, else None."""
        try:
            info = os.stat(self.path)
        except OSError as exc:
            seen: tuple[object, ...] = ("unavailable", type(exc).__name__)
            if seen != self._seen:
                logger.warning("cookie key file unavailable (%s); keeping the keys in use", type(exc).__name__)
            self._seen = seen
            return None
        seen = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        if seen == self._seen:
            return None
        self._seen = seen
        try:
            return _parse(self.path.read_bytes()).ring
        except (OSError, KeyStoreError) as exc:
            cause = f"{type(exc).__name__}: {type(exc.__cause__).__name__}" if exc.__cause__ else type(exc).__name__
            logger.warning("cookie key file not reloaded (%s); keeping the keys in use", cause)
            return None


def _load_or_create(data_dir: str | os.PathLike[str]) -> KeyFile:
    path = keys_path(data_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        created = KeyFile(KeyRing(current_id=1, keys={1: secrets.token_bytes(KEY_BYTES)}), created={1: _now()})
        try:
            _write(path, created, exclusive=True)
        except FileExistsError:  # another process created it first: use theirs
            return _parse(path.read_bytes())
        return created
    return _parse(raw)


def _staged(keys: KeyFile) -> tuple[KeyFile, int]:
    """``keys`` with a new staged key, and its id: the first free id after the current one."""
    ring = keys.ring
    key_id = next((i for i in _ids_after(ring.current_id) if i not in ring.keys), None)
    if key_id is None:
        raise KeyStoreError("every key id is in use: make a staged key current first")
    return (
        KeyFile(
            KeyRing(ring.current_id, {**ring.keys, key_id: secrets.token_bytes(KEY_BYTES)}),
            (*keys.staged, key_id),
            {**keys.created, key_id: _now()},
        ),
        key_id,
    )


def _used(keys: KeyFile, key_id: int) -> KeyFile:
    """``keys`` sealing with ``key_id``; no key stays staged."""
    if key_id not in keys.ring.keys:
        raise KeyStoreError(f"no cookie key with id {key_id}")
    return KeyFile(KeyRing(key_id, keys.ring.keys), (), keys.created)


def _pruned(keys: KeyFile, keep: int) -> KeyFile:
    """``keys`` without the kept keys beyond the ``keep`` most recent (never the current or a staged one)."""
    dropped = set(keys.previous()[max(0, keep) :])
    if not dropped:
        return keys
    return KeyFile(
        KeyRing(keys.ring.current_id, {k: v for k, v in keys.ring.keys.items() if k not in dropped}),
        keys.staged,
        {k: v for k, v in keys.created.items() if k not in dropped},
    )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ids_after(key_id: int) -> list[int]:
    """Key ids 1..255 in order after ``key_id`` (0 is never used, so it can mean "none")."""
    return [(key_id + step - 1) % 255 + 1 for step in range(1, 256)]


def _ids_before(key_id: int) -> list[int]:
    """Key ids from ``key_id`` going back, newest first."""
    return [(key_id - step - 1) % 255 + 1 for step in range(255)]


def _parse(raw: bytes | str) -> KeyFile:
    try:
        data = json.loads(raw)
        keys = {int(k): base64.urlsafe_b64decode(v) for k, v in data["keys"].items()}
        ring = KeyRing(current_id=int(data["current"]), keys=keys)
        staged_ids = data.get("staged", [])
        created_at = data.get("created", {})
        if not isinstance(staged_ids, list) or not isinstance(created_at, dict):
            raise TypeError("staged must be a list and created an object")
        # Staged ids that are gone or current (a hand edit) are simply not staged.
        staged = tuple(dict.fromkeys(k for k in map(int, staged_ids) if k in keys and k != ring.current_id))
        created = {int(k): v for k, v in created_at.items() if int(k) in keys}
        if not all(isinstance(v, str) for v in created.values()):
            raise TypeError("creation times must be strings")
        return KeyFile(ring, staged, created)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise KeyStoreError("the cookie key file is malformed") from exc


def _write(path: Path, keys: KeyFile, *, exclusive: bool) -> None:
    """Write the key file atomically with mode 0600 (the key never exists world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    ring = keys.ring
    data = {
        "current": ring.current_id,
        "keys": {str(k): base64.urlsafe_b64encode(v).decode("ascii") for k, v in sorted(ring.keys.items())},
        "staged": list(keys.staged),
        "created": {str(k): v for k, v in sorted(keys.created.items()) if k in ring.keys},
    }
    body = json.dumps(data, indent=2).encode("ascii")
    # The first start of two processes keeps one key: the second finds the file there.
    write_private(path, body, exclusive=exclusive)
