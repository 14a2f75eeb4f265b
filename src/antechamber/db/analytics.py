"""The analytics in the config store: each process's rows written, every process's rows read as one."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from antechamber.core.analytics import MINUTE_MS, MinuteFigures, MinuteRow, merge
from antechamber.db import tables

_table = tables.analytics_minutes
_FIGURES = tables.ANALYTICS_FIGURES


def _values(node: str, row: MinuteRow) -> dict[str, object]:
    room_id, minute, figures = row
    values: dict[str, object] = {name: getattr(figures, name) for name in _FIGURES}
    # JSON object keys are text: the buckets go back to ints on the way in.
    values["waits"] = {str(bucket): n for bucket, n in sorted(figures.waits.items())}
    return {"room_id": room_id, "minute": minute, "node": node, **values}


async def save(connection: AsyncConnection, node: str, rows: Sequence[MinuteRow]) -> None:
    """Write ``node``'s figures for each (room, minute): a row holds the minute so far, so it replaces the last."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(_table)
    statement = statement.on_conflict_do_update(
        index_elements=["room_id", "minute", "node"],
        set_={name: statement.excluded[name] for name in (*_FIGURES, "waits")},
    )
    await connection.execute(statement, [_values(node, row) for row in rows])


async def minutes(
    connection: AsyncConnection, room_id: str, start_ms: int, end_ms: int
) -> list[tuple[int, MinuteFigures]]:
    """The room's minutes from ``start_ms`` up to (not including) ``end_ms``, each merged over every node."""
    query = (
        select(_table)
        .where(_table.c.room_id == room_id)
        .where(_table.c.minute >= start_ms // MINUTE_MS)
        .where(_table.c.minute < -(-end_ms // MINUTE_MS))
        .order_by(_table.c.minute)
    )
    by_minute: dict[int, list[MinuteFigures]] = {}
    for record in (await connection.execute(query)).mappings():
        figures = MinuteFigures()
        for name in _FIGURES:
            setattr(figures, name, int(record[name]))
        figures.waits = {int(bucket): int(n) for bucket, n in (record["waits"] or {}).items()}
        by_minute.setdefault(int(record["minute"]), []).append(figures)
    return [(minute, merge(parts)) for minute, parts in sorted(by_minute.items())]


async def prune(connection: AsyncConnection, before_ms: int) -> None:
    """Drop every minute before ``before_ms`` (the retention)."""
    await connection.execute(delete(_table).where(_table.c.minute < before_ms // MINUTE_MS))
