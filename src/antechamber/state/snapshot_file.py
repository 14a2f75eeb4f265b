"""The file the in-process backend saves its room counters in, so a restart keeps the queue.

Layout: :data:`MAGIC`, the format version (2 bytes, big-endian), then the
body compressed with zlib (whose checksum catches a damaged file). The body
holds, little-endian, the time it was saved and per room its counters as
:class:`RoomRecord` describes them. Queued users are counted per (place
second, refresh bucket), never per visitor, so the file stays small for a
queue of millions: a row of 32-bit counts per live refresh bucket.

Writes are atomic (a private temporary file in the same directory, then
``os.replace``) and the file has mode 0600. Reading a file that is damaged or
of another version raises :class:`SnapshotError`, whose message never quotes
the file's contents.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from antechamber.private_files import write_private
from antechamber.state.waiting import WaitingRows

MAGIC = b"antechamber-state\n"
FORMAT_VERSION = 1
HEADER = struct.Struct(f">{len(MAGIC)}sH")
#: A body inflating past this is not one this code wrote.
MAX_BODY = 1 << 30

_Q = struct.Struct("<q")
_I = struct.Struct("<I")
_H = struct.Struct("<H")
_ROW = struct.Struct("<qI")  # refresh bucket, length
_LAYOUT = struct.Struct("<qqq")  # base, capacity, present_from


class SnapshotError(Exception):
    """The saved file cannot be used (damaged, not ours, or of another format version)."""


@dataclass(frozen=True, slots=True)
class RoomRecord:
    """One room's counters as saved.

    The admission history is listed per second, oldest first, ending at
    ``ring_s``; the restoring backend keeps as much of it as its window holds.
    """

    #: Sessions counted by expiry second; seconds below ``active_floor_s`` are gone.
    active: Mapping[int, int]
    active_floor_s: int
    ring_s: int
    admitted: array[int]
    admitted_open: array[int]
    open: bytes  # 1: queued users tried to get in during that second
    pace_tat_us: int
    waiting: WaitingRows


@dataclass(frozen=True, slots=True)
class Saved:
    """Every room's counters and when they were saved (epoch ms)."""

    saved_ms: int
    rooms: Mapping[str, RoomRecord]


def encode(saved: Saved) -> bytes:
    """The uncompressed body of ``saved`` (fast: run it where the counters live, then :func:`write`).

    Raises ValueError for a count outside 64 bits (32 for a waiting row).
    """
    try:
        return _encode(saved)
    except (struct.error, OverflowError) as exc:
        raise ValueError("a count does not fit the file format") from exc


def _encode(saved: Saved) -> bytes:
    out = bytearray(_Q.pack(saved.saved_ms))
    out += _I.pack(len(saved.rooms))
    for room_id, room in saved.rooms.items():
        name = room_id.encode()
        out += _H.pack(len(name)) + name
        out += _Q.pack(room.active_floor_s)
        out += _I.pack(len(room.active))
        out += _ints("q", room.active.keys()) + _ints("q", room.active.values())
        if not len(room.admitted) == len(room.admitted_open) == len(room.open):
            raise ValueError("admission history columns differ in length")
        out += _Q.pack(room.ring_s) + _I.pack(len(room.admitted))
        out += _ints("q", room.admitted) + _ints("q", room.admitted_open) + bytes(room.open)
        out += _Q.pack(room.pace_tat_us)
        waiting = room.waiting
        out += _LAYOUT.pack(waiting.base, waiting.capacity, waiting.present_from)
        out += _I.pack(len(waiting.rows))
        for bucket, row in waiting.rows.items():
            out += _ROW.pack(bucket, len(row)) + _ints("i", row)
    return bytes(out)


def write(path: Path, body: bytes) -> None:
    """Compress ``body`` and publish it at ``path`` atomically, mode 0600 (blocking: run it in a thread)."""
    data = HEADER.pack(MAGIC, FORMAT_VERSION) + zlib.compress(body, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, data)


def read(path: Path) -> Saved | None:
    """The counters saved at ``path``; None when there is no file (blocking: run it in a thread).

    Raises SnapshotError when the file cannot be read or used.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SnapshotError(f"unreadable ({exc.strerror or type(exc).__name__})") from None
    if len(data) < HEADER.size:
        raise SnapshotError("too short for a header")
    magic, version = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise SnapshotError("not a room state file")
    if version != FORMAT_VERSION:
        raise SnapshotError(f"format version {version}, this version reads {FORMAT_VERSION}")
    inflate = zlib.decompressobj()
    try:
        body = inflate.decompress(data[HEADER.size :], MAX_BODY)
    except zlib.error:
        raise SnapshotError("the compressed body is damaged") from None
    if inflate.unconsumed_tail:
        raise SnapshotError("the body is larger than any this code writes")
    if not inflate.eof or inflate.unused_data:
        raise SnapshotError("the compressed body is cut short or followed by other data")
    return decode(body)


def decode(body: bytes) -> Saved:
    """The counters in an uncompressed body; raises SnapshotError when it is malformed."""
    reader = _Reader(body)
    saved_ms = reader.number(_Q)
    rooms: dict[str, RoomRecord] = {}
    for _ in range(reader.number(_I)):
        try:
            room_id = reader.take(reader.number(_H)).decode()
        except UnicodeDecodeError:
            raise SnapshotError("a room id is not UTF-8") from None
        if room_id in rooms:
            raise SnapshotError("a room is listed twice")
        active_floor_s = reader.number(_Q)
        n = reader.number(_I)
        seconds, counts = reader.ints("q", n), reader.ints("q", n)
        active = dict(zip(seconds, counts, strict=True))
        if len(active) != n:
            raise SnapshotError("an expiry second is listed twice")
        ring_s = reader.number(_Q)
        n = reader.number(_I)
        admitted, admitted_open, open_ = reader.ints("q", n), reader.ints("q", n), reader.take(n)
        if open_.translate(None, b"\0\1"):
            raise SnapshotError("an open-second flag is neither 0 nor 1")
        pace_tat_us = reader.number(_Q)
        base, capacity, present_from = reader.unpack(_LAYOUT)
        rows: dict[int, array[int]] = {}
        for _ in range(reader.number(_I)):
            bucket, length = reader.unpack(_ROW)
            if bucket in rows:
                raise SnapshotError("a refresh bucket is listed twice")
            rows[bucket] = reader.ints("i", length)
        waiting = WaitingRows(base, capacity, present_from, rows)
        rooms[room_id] = RoomRecord(
            active, active_floor_s, ring_s, admitted, admitted_open, open_, pace_tat_us, waiting
        )
    if reader.left:
        raise SnapshotError("trailing bytes after the last room")
    return Saved(saved_ms, rooms)


def _ints(code: Literal["q", "i"], values: Iterable[int]) -> bytes:
    """``values`` as little-endian 64-bit (``q``) or 32-bit (``i``) integers."""
    a = array(code, values)
    if sys.byteorder == "big":
        a.byteswap()
    return a.tobytes()


class _Reader:
    """Reads a body front to back; running past its end is a SnapshotError."""

    __slots__ = ("_at", "_data")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    @property
    def left(self) -> int:
        return len(self._data) - self._at

    def take(self, n: int) -> bytes:
        if n > self.left:
            raise SnapshotError("cut short")
        start, self._at = self._at, self._at + n
        return self._data[start : self._at]

    def unpack(self, fmt: struct.Struct) -> tuple[int, ...]:
        return tuple(fmt.unpack(self.take(fmt.size)))

    def number(self, fmt: struct.Struct) -> int:
        (value,) = self.unpack(fmt)
        return value

    def ints(self, code: Literal["q", "i"], n: int) -> array[int]:
        a = array(code)
        a.frombytes(self.take(n * a.itemsize))
        if sys.byteorder == "big":
            a.byteswap()
        return a
