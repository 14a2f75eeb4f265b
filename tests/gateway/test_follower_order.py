"""The config follower never swaps an older store read in after a newer one."""

from __future__ import annotations

import asyncio

import pytest

from antechamber.gateway import follower as follower_module
from antechamber.gateway.config import StoredConfig
from antechamber.gateway.follower import ConfigFollower, fingerprint


async def test_overlapping_polls_end_on_the_newest_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow poll that read the store before a write cannot overwrite a later poll's newer config."""
    stale = StoredConfig(rooms=[])
    fresh = StoredConfig(rooms=[], crawler_bypass={"zone": True})
    # (revision, data, delay): the first read is old and slow, the second new and fast
    reads = [(1, stale, 0.2), (2, fresh, 0.0)]

    async def load(_database: object) -> tuple[int, StoredConfig]:
        revision, stored, delay = reads.pop(0)
        await asyncio.sleep(delay)
        return revision, stored

    monkeypatch.setattr(follower_module, "load_snapshot", load)
    follower = ConfigFollower(database=None, interval=60)  # type: ignore[arg-type]
    await asyncio.gather(follower.refresh(), follower.refresh())
    assert fingerprint(fresh) == follower.current.version
    assert 2 == follower.revision
