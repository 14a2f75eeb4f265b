"""This process's analytics: counted on the request path (no I/O), sampled and written out in the background.

:class:`AnalyticsRecorder` keeps a :class:`~antechamber.core.analytics.MinuteFigures`
per room and minute: the admission code counts admissions (with their waits),
rejections, bypasses, revocations and session renewals (with the time on origin
they accrued) into it, and :class:`AnalyticsWriter` samples
the rooms' totals and the challenge outcomes every few seconds and writes each
changed minute to the config store as this process's own row. A row holds the
minute's figures so far, not an increment: writing it again after a failed write
cannot count anything twice. The store merges the rows of every process and node
when they are read (:mod:`antechamber.db.analytics`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable

from antechamber.background import cancel_and_wait
from antechamber.core.analytics import MINUTE_MS, MinuteFigures, MinuteRow, renewal_accrual_ms
from antechamber.core.config import effective_config
from antechamber.core.decide import Decision
from antechamber.core.ticket import Ticket
from antechamber.core.types import Outcome
from antechamber.db import analytics as stored
from antechamber.db.engine import Database
from antechamber.gateway.challenge import ChallengeCounts, ChallengeGate
from antechamber.gateway.config import ConfigSource
from antechamber.gateway.metrics import GatewayMetrics
from antechamber.gateway.timing import RequestTimings
from antechamber.state.base import RoomState

logger = logging.getLogger(__name__)

#: Seconds between samples of the rooms' totals (each also writes the minutes that changed).
SAMPLE_S = 5.0
#: Minutes are pruned past the retention this often.
PRUNE_EVERY_S = 3600.0


class AnalyticsRecorder:
    """Figures by (room, minute) for this process; every method is a few dictionary updates."""

    __slots__ = ("_challenges", "_changed", "minutes")

    def __init__(self) -> None:
        self.minutes: dict[tuple[str, int], MinuteFigures] = {}
        self._changed: set[tuple[str, int]] = set()
        #: Each room's challenge counts as last sampled (they only grow), to count each minute's share.
        self._challenges: dict[str, tuple[int, int, int]] = {}

    def figures(self, room_id: str, now_ms: int) -> MinuteFigures:
        """The room's figures for the minute of ``now_ms`` (marked as changed)."""
        key = (room_id, now_ms // MINUTE_MS)
        figures = self.minutes.get(key)
        if figures is None:
            figures = self.minutes[key] = MinuteFigures()
        self._changed.add(key)
        return figures

    def decided(self, room_id: str, decision: Decision, now_ms: int) -> None:
        """A counted decision that let someone in, rejected them or let a request through untouched."""
        figures = self.figures(room_id, now_ms)
        outcome = decision.outcome
        if outcome is Outcome.BYPASS:
            figures.bypassed += 1
        elif outcome is Outcome.REJECT:
            figures.rejected += 1
        elif decision.deltas.admitted and decision.ticket is not None:
            figures.admitted += decision.deltas.admitted
            figures.add_wait(decision.ticket.accepted_ms - decision.ticket.arrival_ms)

    def renewed(self, room_id: str, before: Ticket, after: Ticket, now_ms: int) -> None:
        """A session's expiry moved on (``before`` renewed into ``after``): its time on origin grew."""
        accrued = renewal_accrual_ms(before, after, now_ms)
        self.figures(room_id, now_ms).add_renewal(accrued, now_ms - before.accepted_ms)

    def revoked(self, room_id: str, now_ms: int) -> None:
        """A session was ended through the revoke endpoint."""
        self.figures(room_id, now_ms).revoked += 1

    def challenges(self, room_id: str, counts: ChallengeCounts, now_ms: int) -> None:
        """The room's challenge counts now: what they grew by since the last look goes to this minute."""
        now = (counts.issued, counts.passed, counts.failed + counts.failed_bot)
        before = self._challenges.get(room_id, (0, 0, 0))
        if now == before:
            return
        self._challenges[room_id] = now
        figures = self.figures(room_id, now_ms)
        figures.challenges_issued += now[0] - before[0]
        figures.challenges_passed += now[1] - before[1]
        figures.challenges_failed += now[2] - before[2]

    def unsampled(self, room_id: str, before_minute: int) -> list[tuple[int, MinuteFigures]]:
        """The room's changed minutes before ``before_minute`` that no sample reached (no limits known)."""
        return [
            (minute, self.minutes[(room, minute)])
            for room, minute in self._changed
            if room == room_id and minute < before_minute and not self.minutes[(room, minute)].active_limit
        ]

    def take_changed(self, now_ms: int) -> list[MinuteRow]:
        """The minutes changed since the last call, as they stand; minutes before this one are let go."""
        current = now_ms // MINUTE_MS
        taken = [(room, minute, self.minutes[(room, minute)].copy()) for room, minute in sorted(self._changed)]
        self._changed = set()
        for key in [key for key in self.minutes if key[1] < current]:
            del self.minutes[key]
        return taken

    def give_back(self, rows: list[MinuteRow]) -> None:
        """A write failed: these minutes are written with the next (their figures are kept until then)."""
        for room, minute, figures in rows:
            self.minutes.setdefault((room, minute), figures)
            self._changed.add((room, minute))


class AnalyticsWriter:
    """Samples every room this process serves and writes the changed minutes, every :data:`SAMPLE_S` seconds."""

    def __init__(
        self,
        recorder: AnalyticsRecorder,
        database: Database,
        source: ConfigSource,
        state: RoomState,
        *,
        challenge: ChallengeGate | None = None,
        retention_days: int = 30,
        clock: Callable[[], int],
        node: str | None = None,
        metrics: GatewayMetrics | None = None,
        revision: Callable[[], int | None] = lambda: None,
        timings: RequestTimings | None = None,
    ) -> None:
        self.recorder = recorder
        self.database = database
        self.source = source
        self.state = state
        self.challenge = challenge
        self.retention_days = retention_days
        self.clock = clock
        #: Fed the same samples and minutes (Prometheus), and the node's health and config revision.
        self.metrics = metrics
        self.revision = revision
        #: The front ends' latency and origin-failure tallies, handed to the metrics at each write.
        self.timings = timings
        #: This process's rows are its own: a restarted process writes new ones beside the old.
        self.node = node or uuid.uuid4().hex[:16]
        self._task: asyncio.Task[None] | None = None
        self._pruned_ms = 0

    def sample(self, now_ms: int) -> None:
        """Look at every room's totals and limits, and the challenge counts."""
        for room_id, entry in self.source.current.rooms.items():
            snapshot = self.state.peek(room_id, now_ms)
            active, queued = max(0, snapshot.active), max(0, snapshot.waiting)
            config = effective_config(entry.room, entry.events, now_ms)
            if active or queued:
                figures = self.recorder.figures(room_id, now_ms)
                figures.sample(active, queued, config.total_active_users, config.new_users_per_minute)
            # A minute whose events all came after its last sample (a surge starting in a
            # minute's last seconds, with the room empty at that sample) still shows the
            # limits then in force, taken from the schedule at that minute's end.
            for minute, past in self.recorder.unsampled(room_id, now_ms // MINUTE_MS):
                then = effective_config(entry.room, entry.events, (minute + 1) * MINUTE_MS - 1)
                past.sample(0, 0, then.total_active_users, then.new_users_per_minute)
            if self.metrics is not None:
                self.metrics.room(room_id, active, queued, config.total_active_users, config.new_users_per_minute)
            if self.challenge is not None and room_id in self.challenge.counts:
                self.recorder.challenges(room_id, self.challenge.counts[room_id], now_ms)

    async def write(self) -> None:
        """Sample, then write the changed minutes (kept for the next try if the store fails)."""
        now = self.clock()
        self.sample(now)
        rows = [row for row in self.recorder.take_changed(now) if not row[2].empty()]
        if self.metrics is not None:
            self.metrics.minutes(rows, now)
            self.metrics.node(self.state.health(), self.revision(), now)
        if self.timings is not None:
            taken = self.timings.take()  # taken either way, so that the tallies never pile up
            if self.metrics is not None:
                self.metrics.timings(taken)
        if rows:
            try:
                async with self.database.begin() as connection:
                    await stored.save(connection, self.node, rows)
            except Exception:
                self.recorder.give_back(rows)
                raise
        if now - self._pruned_ms >= PRUNE_EVERY_S * 1000:
            async with self.database.begin() as connection:
                await stored.prune(connection, now - self.retention_days * 86_400_000)
            self._pruned_ms = now

    def start(self) -> None:
        if self.metrics is not None:  # a worker's first values, not the zeros its metrics start at
            self.metrics.node(self.state.health(), self.revision(), self.clock())
        self._task = asyncio.create_task(self._run(), name="antechamber-analytics")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(SAMPLE_S)
            try:
                await self.write()
            except Exception as exc:  # the store is down: the figures wait for the next write
                logger.warning("analytics not written (%s); trying again", type(exc).__name__)

    async def aclose(self) -> None:
        """Stop, after writing what is left (a stopping process's last seconds count too)."""
        if self._task is not None:
            await cancel_and_wait(self._task)
        with contextlib.suppress(Exception):
            await self.write()
