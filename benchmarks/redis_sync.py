"""What one node's once-a-second sync costs Redis, by the size of the room's queue.

    python benchmarks/redis_sync.py                       # 1k .. 1M queued, about a minute
    python benchmarks/redis_sync.py --queued 10000 100000 --spread-minutes 30

For each queue size it starts a private ``redis-server``, fills one room with that many
queued visitors (arrivals spread over ``--spread-minutes``, places in the live refresh
buckets as real refreshes leave them) through the backend's own sync, then times
``--syncs`` syncs of an idle node: the Redis server's CPU time per sync (its
``used_cpu_sys`` + ``used_cpu_user`` from ``INFO``), the wall time per sync as the client
sees it, and the reply's size. That is the cost the capacity plan in docs/SCALING.md
multiplies by the number of nodes.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

from redis.asyncio import Redis

from antechamber.core.counters import Deltas
from antechamber.core.types import REFRESH_BUCKET_MS, RoomConfig
from antechamber.sim.nodes import private_redis
from antechamber.state.redis import RedisState

NOW = 1_800_000_000_000


async def server_cpu(client: Redis) -> float:
    info = await client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


async def measure(queued: int, spread_s: int, syncs: int) -> tuple[float, float, int]:
    with private_redis() as url:
        config = RoomConfig("r", total_active_users=1000, new_users_per_minute=1000, session_duration=5)
        clock = [NOW]
        filler = RedisState(url, prefix="bench", clock=lambda: clock[0], timeout=30)
        filler.bind(lambda room_id, now_ms: config)
        rng = random.Random(1)
        bucket = NOW // REFRESH_BUCKET_MS
        # Present users sit in the last few refresh buckets, as 20 s refreshes leave them.
        batch: list[tuple[int, int, int]] = []
        for _ in range(queued):
            position_s = NOW // 1000 - rng.randrange(spread_s)
            batch.append((position_s, bucket - rng.randrange(3), 1))
            if len(batch) >= 20_000:
                filler.apply("r", Deltas(waiting=tuple(batch)), NOW)
                await filler.sync(["r"])
                batch.clear()
        filler.apply("r", Deltas(waiting=tuple(batch)), NOW)
        await filler.sync(["r"])
        await filler.aclose()
        node = RedisState(url, prefix="bench", clock=lambda: clock[0], timeout=30)
        node.bind(lambda room_id, now_ms: config)
        await node.sync(["r"])
        client = Redis.from_url(url)
        cpu0, t0 = await server_cpu(client), time.perf_counter()
        for _ in range(syncs):
            await node.sync(["r"])
        wall = (time.perf_counter() - t0) / syncs
        cpu = (await server_cpu(client) - cpu0) / syncs
        await client.aclose()
        await node.aclose()
        snap = await node.read("r", NOW)
        assert snap.waiting == queued, (snap.waiting, queued)
        # The reply carries the present places by (second, refresh bucket): three integers each.
        rows = len(node._rooms["r"].replica.view.present_rows)
        return cpu, wall, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queued", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--spread-minutes", type=float, default=30)
    parser.add_argument("--syncs", type=int, default=50)
    args = parser.parse_args()
    print(f"{'queued':>10} {'Redis CPU ms/sync':>18} {'wall ms/sync':>13} {'rows in reply':>14}")
    for queued in args.queued:
        cpu, wall, rows = asyncio.run(measure(queued, int(args.spread_minutes * 60), args.syncs))
        print(f"{queued:>10,} {cpu * 1000:>18.2f} {wall * 1000:>13.2f} {rows:>14,}")


if __name__ == "__main__":
    main()
