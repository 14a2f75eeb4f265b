"""The in-process backend's counters survive a restart: saved to a file, restored and advanced to now."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import stat
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from antechamber.core.counters import EMPTY_QUEUE, Deltas, RoomSnapshot
from antechamber.core.types import QUEUE_PLACE_HOLD_MS, REFRESH_BUCKET_MS
from antechamber.state import snapshot_file
from antechamber.state.memory import MemoryState
from tests.state.backends import Clock

NOW = 1_800_000_000_000
S = NOW // 1000
B = NOW // REFRESH_BUCKET_MS
PROBES = [*range(S - 310, S + 310, 10), *range(S - 5, S + 8)]


def view(state: MemoryState, now_ms: int, room: str = "r") -> tuple[RoomSnapshot, list[int]]:
    """Every snapshot field, and the FIFO line as seen from a spread of place seconds."""
    snap = state.snapshot(room, now_ms)
    return replace(snap, queue=EMPTY_QUEUE), [snap.queue.ahead(s) for s in PROBES]


async def restarted(path: Path, clock: Clock) -> MemoryState:
    """A new node that restored ``path`` at the clock's time."""
    state = MemoryState(path, clock=clock)
    await state.start()
    return state


def busy(state: MemoryState, room: str = "r") -> None:
    """A room with sessions, a line over several seconds and refresh buckets, admissions and a pace."""
    state.apply(room, Deltas(active=((S + 60, 2), (S + 300, 5), (S + 1800, 1))), NOW - 20_000)
    state.apply(room, Deltas(admitted=4, pace_us=1_200_000, queue_open=True, admitted_open=3), NOW - 20_000)
    for k in range(40):
        state.apply(room, Deltas(waiting=((S - 100 + 7 * k, B - 1 - k % 3, 1 + k % 4),)), NOW - 10_000)
    state.apply(room, Deltas(admitted=2, pace_us=600_000, queue_open=True, admitted_open=2), NOW)
    state.apply(room, Deltas(waiting=((S - 30, B, 3), (S + 5, B, 2))), NOW)


async def test_restart_gives_the_same_counters(tmp_path: Path) -> None:
    """Saved and restored at the same instant, every room reads the same: counts, history, pace and the line."""
    path, clock = tmp_path / "state.bin", Clock(NOW)
    before = MemoryState(path, clock=clock)
    await before.start()
    busy(before, "a")
    busy(before, "b")
    before.apply("b", Deltas(active=((S + 90, 7),)), NOW)
    await before.aclose()
    after = await restarted(path, clock)
    for room in ("a", "b"):
        assert view(after, NOW, room) == view(before, NOW, room)
    snap = after.snapshot("a", NOW)
    assert (snap.active, snap.waiting, snap.admitted_last_minute, snap.pace_tat_us) == (8, 105, 6, NOW * 1000 + 600_000)
    await after.aclose()


async def test_sessions_that_expired_while_down_are_gone(tmp_path: Path) -> None:
    """A session whose expiry second passed while the node was down is not counted after the restart."""
    path, clock = tmp_path / "state.bin", Clock(NOW)
    before = await restarted(path, clock)
    before.apply("r", Deltas(active=((S + 60, 2), (S + 600, 3))), NOW)
    await before.aclose()
    clock.now_ms = NOW + 120_000
    after = await restarted(path, clock)
    assert after.snapshot("r", NOW + 120_000).active == 3
    assert after.snapshot("r", NOW + 601_000).active == 0
    await after.aclose()


async def test_refresh_buckets_past_their_hold_are_gone(tmp_path: Path) -> None:
    """Queued users whose 5-minute hold ran out while the node was down no longer hold a place."""
    path, clock = tmp_path / "state.bin", Clock(NOW)
    before = await restarted(path, clock)
    before.apply("r", Deltas(waiting=((S, B, 4),)), NOW)  # stopped refreshing at NOW
    later = NOW + 200_000
    before.apply("r", Deltas(waiting=((S + 10, later // REFRESH_BUCKET_MS, 6),)), later)
    await before.aclose()
    clock.now_ms = dropped = (B + 1) * REFRESH_BUCKET_MS + QUEUE_PLACE_HOLD_MS
    after = await restarted(path, clock)
    snap = after.snapshot("r", dropped)
    assert (snap.waiting, snap.queue.ahead(S + 11)) == (6, 0)  # the later six are not present any more either
    assert view(after, dropped) == view(before, dropped)
    await after.aclose()


async def test_fifo_order_is_kept(tmp_path: Path) -> None:
    """After a restart each queued user has the same users ahead, and the line moves on from there."""
    path, clock = tmp_path / "state.bin", Clock(NOW)
    before = await restarted(path, clock)
    for k in range(50):
        before.apply("r", Deltas(waiting=((S - 50 + k, B, 1),)), NOW)
    await before.aclose()
    clock.now_ms = NOW + 5_000
    after = await restarted(path, clock)
    queue = after.snapshot("r", NOW + 5_000).queue
    assert [queue.ahead(S - 50 + k) for k in range(50)] == list(range(50))
    after.apply("r", Deltas(waiting=((S - 50, B, -1),), admitted=1, moves_visitor=True), NOW + 5_000)
    assert after.snapshot("r", NOW + 5_000).queue.ahead(S - 1) == 48
    await after.aclose()


async def test_admissions_and_pace_advance_to_now(tmp_path: Path) -> None:
    """The admission history and the paced budget are kept as they were and age as if the node had run on."""
    path, clock = tmp_path / "state.bin", Clock(NOW)
    before = await restarted(path, clock)
    before.apply("r", Deltas(admitted=5, pace_us=90_000_000, queue_open=True, admitted_open=5), NOW)
    await before.aclose()
    clock.now_ms = NOW + 30_000
    after = await restarted(path, clock)
    snap = after.snapshot("r", NOW + 30_000)
    assert (snap.admitted_last_minute, snap.open_seconds, snap.admitted_open) == (5, 1, 5)
    assert snap.pace_tat_us == NOW * 1000 + 90_000_000
    snap = after.snapshot("r", NOW + 61_000)
    assert (snap.admitted_last_minute, snap.open_seconds, snap.admitted_open) == (0, 1, 5)
    await after.aclose()


async def test_saves_periodically_without_aclose(tmp_path: Path) -> None:
    """While running, the node saves every save_interval, so a crash loses at most that much."""
    path, clock = tmp_path / "state.bin", Clock(NOW)
    state = MemoryState(path, save_interval=0.02, clock=clock)
    await state.start()
    state.apply("r", Deltas(active=((S + 600, 3),)), NOW)
    for _ in range(250):
        if path.exists():
            break
        await asyncio.sleep(0.02)
    crashed = MemoryState(path, clock=clock)  # read while the first node still runs
    await crashed.start()
    assert crashed.snapshot("r", NOW).active == 3
    await crashed.aclose()
    await state.aclose()


async def test_unchanged_counters_are_not_rewritten(tmp_path: Path) -> None:
    """A save with nothing changed since the last one writes nothing (an idle node leaves the disk alone)."""
    path, clock = tmp_path / "state.bin", Clock(NOW)
    state = await restarted(path, clock)
    state.apply("r", Deltas(active=((S + 600, 3),)), NOW)
    await state.save()
    path.unlink()
    await state.save()
    assert not path.exists()
    state.apply("r", Deltas(active=((S + 600, 1),)), NOW)
    await state.aclose()
    assert path.exists()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: b"secret garbage " * 9, id="garbage"),
        pytest.param(lambda data: data[: len(data) - 5], id="truncated"),
        pytest.param(lambda data: data[:-12] + bytes(b ^ 0x5A for b in data[-12:]), id="flipped"),
        pytest.param(lambda data: b"", id="empty"),
    ],
)
async def test_a_damaged_file_starts_empty(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: Callable[[bytes], bytes]
) -> None:
    """A damaged file is logged without its contents and the node starts empty instead of failing."""
    path, clock = tmp_path / "state.bin", Clock(NOW)
    before = await restarted(path, clock)
    busy(before)
    await before.aclose()
    path.write_bytes(damage(path.read_bytes()))
    with caplog.at_level(logging.WARNING, logger="antechamber.state.memory"):
        after = await restarted(path, clock)
    assert view(after, NOW) == view(MemoryState(), NOW)
    assert "not restored" in caplog.text and "secret" not in caplog.text
    await after.aclose()


async def test_a_file_of_another_version_starts_empty(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A file written by another format version is logged and ignored; the next save replaces it."""
    path, clock = tmp_path / "state.bin", Clock(NOW)
    before = await restarted(path, clock)
    busy(before)
    await before.aclose()
    body = path.read_bytes()[snapshot_file.HEADER.size :]
    path.write_bytes(snapshot_file.HEADER.pack(snapshot_file.MAGIC, snapshot_file.FORMAT_VERSION + 1) + body)
    with caplog.at_level(logging.WARNING, logger="antechamber.state.memory"):
        after = await restarted(path, clock)
    assert after.snapshot("r", NOW).waiting == 0
    assert f"format version {snapshot_file.FORMAT_VERSION + 1}" in caplog.text
    after.apply("r", Deltas(active=((S + 60, 1),)), NOW)
    await after.aclose()
    assert snapshot_file.read(path) is not None


async def test_the_file_is_private_and_replaced_whole(tmp_path: Path) -> None:
    """The file has mode 0600 and every save replaces it in one step, leaving no temporary file behind."""
    path, clock = tmp_path / "data" / "state.bin", Clock(NOW)
    state = await restarted(path, clock)
    busy(state)
    await state.save()
    first = path.stat().st_ino
    state.apply("r", Deltas(admitted=1), NOW)
    await state.aclose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.stat().st_ino != first  # a new file renamed over the old one, not rewritten in place
    assert os.listdir(path.parent) == ["state.bin"]


async def test_a_failed_save_is_logged_and_retried(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A save that cannot write is logged once and does not raise; the next save after the fault writes."""
    blocker = tmp_path / "data"
    blocker.write_bytes(b"")  # a file where the directory should be
    path, clock = blocker / "state.bin", Clock(NOW)
    state = await restarted(path, clock)
    state.apply("r", Deltas(active=((S + 600, 3),)), NOW)
    with caplog.at_level(logging.WARNING, logger="antechamber.state.memory"):
        await state.save()
        await state.save()
    assert caplog.text.count("cannot save") == 1
    blocker.unlink()
    await state.aclose()
    after = await restarted(path, clock)
    assert after.snapshot("r", NOW).active == 3
    await after.aclose()


async def test_a_million_visitor_queue_saves_small(tmp_path: Path) -> None:
    """A million queued users over an hour of places save into a file of kilobytes: counts, not visitors."""
    path, clock = tmp_path / "state.bin", Clock(NOW)
    state, rng = MemoryState(path, clock=clock), random.Random(7)
    for k in range(3600):
        for bucket in range(B - 2, B + 1):
            state.apply("r", Deltas(waiting=((S - 3600 + k, bucket, rng.randrange(65, 130)),)), NOW)
    assert state.snapshot("r", NOW).waiting > 1_000_000
    await state.aclose()
    assert path.stat().st_size < 64 * 1024
    after = await restarted(path, clock)
    assert view(after, NOW) == view(state, NOW)
    await after.aclose()


async def test_without_a_path_nothing_is_saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MemoryState() keeps its counters in the process only: start and aclose touch no file."""
    monkeypatch.chdir(tmp_path)
    state = MemoryState()
    await state.start()
    state.apply("r", Deltas(active=((S + 60, 1),)), NOW)
    await state.aclose()
    assert state.snapshot("r", NOW).active == 1
    assert os.listdir(tmp_path) == []


# A script of decisions: (what, place second offset, refresh bucket or expiry offset, count, ms since the last).
# Places crowd a few seconds (so moves, repeats and departures meet the same slots) with a few far
# out (so the arrays grow, rebase and compact); the steps cross the present window and the 5-minute hold.
_step = st.tuples(
    st.sampled_from(["arrive", "refresh", "admit", "leave", "renew", "straight", "raw"]),
    st.one_of(st.integers(-4, 6), st.sampled_from([-300, -90, -40, 35, 70, 130, 300])),
    st.integers(0, 3),
    st.integers(-2, 4),
    st.sampled_from([0, 0, 0, 400, 1_000, 10_000, 31_000, 45_000, 95_000, 310_000]),
)
Step = tuple[str, int, int, int, int]


def deltas_of(step: Step, now_ms: int) -> Deltas:
    """The deltas a step stands for at ``now_ms``, in the shapes the core emits (and some it does not)."""
    what, p, b, n, _ = step
    pos, now_s, bucket = S + p, now_ms // 1000, now_ms // REFRESH_BUCKET_MS
    if what == "arrive":
        return Deltas(waiting=((pos, bucket, 1),))
    if what == "refresh":  # a counted refresh: same place, newer bucket
        return Deltas(waiting=((pos, bucket - b - 1, -1), (pos, bucket, 1)), moves_visitor=True)
    if what == "admit":  # out of the line into a session
        active, waiting = ((now_s + 60 + 10 * b, 1),), ((pos, bucket - b, -1),)
        return Deltas(active, waiting, 1, 400_000, True, 1, moves_visitor=True)
    if what == "leave":  # a place given up (or a departure the counters never saw)
        return Deltas(waiting=((pos, bucket - b, -1),))
    if what == "renew":
        return Deltas(active=((now_s + 60 + 10 * b, -1), (now_s + 120 + n, 1)), moves_visitor=True)
    if what == "straight":  # into an empty room
        return Deltas(active=((now_s + 30 * b, abs(n) + 1),), admitted=abs(n) + 1, pace_us=150_000 * b)
    return Deltas(((now_s + p, n),), ((pos, bucket - b, n),), abs(n), 0, b % 2 == 0, abs(n) * (b % 2), b % 3 == 0)


def play(states: list[MemoryState], script: list[Step], now_ms: int) -> int:
    """Apply ``script`` to every state alike; returns the time of its last step."""
    for step in script:
        now_ms += step[-1]
        deltas = deltas_of(step, now_ms)
        for state in states:
            state.apply("r", deltas, now_ms)
    return now_ms


async def restore_at(path: Path, now_ms: int) -> MemoryState:
    """A node that restored ``path`` at ``now_ms``, stopped again so that it can be used without a loop."""
    state = MemoryState(path, clock=Clock(now_ms))
    await state.start()
    await state.aclose()
    return state


@settings(max_examples=200, deadline=None)
# A slot emptied to zero, at the end of its row or a whole row: a repeat out of it is refused, not a new place.
@example([("arrive", 0, 0, 0, 0), ("leave", 0, 0, 0, 0)], [("refresh", 0, 0, 0, 10_000)], 0)
@example([("arrive", 0, 0, 0, 0), ("arrive", 3, 0, 0, 0), ("leave", 3, 0, 0, 0)], [("refresh", 3, 0, 0, 10_000)], 0)
# Arrays wider than their rows (a far place dropped): a place further down reshapes them the same way.
@example(
    [("arrive", 300, 0, 0, 0), ("arrive", -300, 0, 0, 0), ("arrive", 0, 0, 0, 200_000), ("arrive", 5, 0, 0, 110_000)],
    [("arrive", -90, 0, 0, 0), ("leave", -300, 0, 0, 0)],
    0,
)
@given(st.lists(_step, max_size=60), st.lists(_step, max_size=30), st.integers(0, 2 * QUEUE_PLACE_HOLD_MS))
def test_save_and_restore_change_nothing(before: list[Step], after: list[Step], gap_ms: int) -> None:
    """For any decisions, a restored node reads as the saved one, at once, after a gap, and as both go on."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.bin"
        original, twin = MemoryState(path), MemoryState()  # the twin is read only after the gap
        now_ms = play([original, twin], before, NOW)
        asyncio.run(original.save())
        same = asyncio.run(restore_at(path, now_ms))
        assert view(same, now_ms) == view(original, now_ms)
        later_ms = now_ms + gap_ms
        later = asyncio.run(restore_at(path, later_ms))
        assert view(later, later_ms) == view(twin, later_ms)
        end_ms = play([original, same], after, later_ms)
        assert play([twin, later], after, later_ms) == end_ms
        assert view(same, end_ms) == view(original, end_ms)
        assert view(later, end_ms) == view(twin, end_ms)
