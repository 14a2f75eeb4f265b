"""A Python web app with the waiting room inside it, served by a real server, as a forward-auth ``Site``.

The app (``tests/integration/apps``) follows a PostgreSQL config store the test
writes as the API would; its counters live in memory (one worker) or in Redis
(two workers). :class:`AppSite` has the attributes the forward-auth contract uses
(``visit``, ``origin.paths``, ``gateway.update_room`` and ``counters``), so the
gateway's scenarios run unchanged against the middleware. :func:`run_room_sites` serves
an app with a single room given in code instead, for the tests beyond the contract.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from antechamber.db.engine import Database
from antechamber.db.ids import new_id
from tests.integration.contract import Site
from tests.integration.support import ROOT, SMALL_ROOM, seed_rooms, update_stored_room
from tests.services import free_port, port_open, stop_process

PROBE_HOST = "probe.test"

#: (server, entry point) for each framework the middleware is tested under.
APPS = {
    "fastapi-uvicorn": ("uvicorn", "tests.integration.apps.asgi_app:app"),
    "flask-gunicorn": ("gunicorn", "tests.integration.apps.wsgi_app:app"),
    "django-asgi-uvicorn": ("uvicorn", "tests.integration.apps.django_site.asgi:application"),
    "django-wsgi-gunicorn": ("gunicorn", "tests.integration.apps.django_site.wsgi:application"),
}
#: Frameworks with smoke tests only (``test_middleware_frameworks.py``): their apps answer no probe.
SMOKE_APPS = {
    "litestar-uvicorn": ("uvicorn", "tests.integration.apps.litestar_app:app"),
    "quart-uvicorn": ("uvicorn", "tests.integration.apps.quart_app:app"),
}


def server_command(app: str, port: int, workers: int) -> list[str]:
    """The command serving ``app`` on ``port`` with ``workers`` processes."""
    server, target = {**APPS, **SMOKE_APPS}[app]
    if server == "uvicorn":
        return [sys.executable, "-m", "uvicorn", target, "--port", str(port), "--workers", str(workers),
                "--log-level", "warning", "--no-access-log"]  # fmt: skip
    return [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level",
            "warning", target]  # fmt: skip


@dataclass
class Recorded:
    """What reached the app, from the file every worker appends to."""

    path: Path

    @property
    def seen(self) -> Recorded:
        return self

    def clear(self) -> None:
        self.path.write_text("")

    @property
    def paths(self) -> list[str]:
        text = self.path.read_text() if self.path.exists() else ""
        return [json.loads(line)["path"] for line in text.splitlines() if line]


class AppNode:
    """The served app as the contract's ``gateway``: its URL, the main room, and the store it follows."""

    def __init__(self, url: str, database_url: str, zone_id: str, room_id: str, *, shared: bool) -> None:
        self.url = url
        self.database_url = database_url
        self.zone_id = zone_id
        self.room_id = room_id
        self.shared = shared

    def probe(self, room_id: str | None = None) -> dict[str, Any]:
        """One worker's view: its config version and the room's counters."""
        room = room_id or self.room_id
        # A new connection each time, so that with two workers either may answer.
        with httpx.Client(timeout=10) as client:
            response = client.get(f"{self.url}/_probe?room={room}", headers={"Host": PROBE_HOST})
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def counters(self) -> tuple[int, int]:
        """The main room's (active, waiting) as every worker together counts them."""
        if self.shared:
            # Each worker merges with Redis a second after its last merge: a change on one worker
            # reaches Redis within about 1 s and the worker probed within about 1 s more.
            time.sleep(2.5)
        answer = self.probe()
        return answer["active"], answer["waiting"]

    def counters_reach(self, expected: tuple[int, int]) -> tuple[int, int]:
        """The (active, waiting) counts once they are ``expected``, or as they stand after 5 s.

        For a count that must change: with two workers it shows as soon as both have merged,
        without :meth:`counters`'s fixed wait. (That a count stays put needs the wait.)
        """
        deadline = time.monotonic() + 5
        while True:
            answer = self.probe()
            got = answer["active"], answer["waiting"]
            if got == expected or not self.shared or time.monotonic() >= deadline:
                return got
            time.sleep(0.2)

    def admissions_counted(self) -> int:
        """New users let in to the main room, as the workers' analytics minutes in the store count them."""
        return asyncio.run(_admissions_counted(self.database_url, self.room_id))

    def update_room(self, **fields: Any) -> None:
        """Change the main room in the store and wait until every worker follows."""
        before = self.probe()["version"]
        if not asyncio.run(_update(self.database_url, self.zone_id, self.room_id, fields)):
            return
        deadline = time.monotonic() + 10
        while self.probe()["version"] == before:
            assert time.monotonic() < deadline, "the app did not follow the store within 10 s"
            time.sleep(0.05)
        time.sleep(0.3)  # the other worker polls on the same interval (and listens for the change)


async def _admissions_counted(database_url: str, room_id: str) -> int:
    from antechamber.db import analytics

    database = Database(database_url)
    try:
        async with database.begin() as connection:
            rows = await analytics.minutes(connection, room_id, 0, 2**62)
    finally:
        await database.dispose()
    return sum(figures.admitted for _, figures in rows)


async def _update(database_url: str, zone_id: str, room_id: str, fields: Mapping[str, Any]) -> bool:
    database = Database(database_url)
    try:
        return await update_stored_room(database, zone_id, room_id, fields)
    finally:
        await database.dispose()


async def _seed(database_url: str, room_id: str, room_fields: Mapping[str, Any]) -> str:
    database = Database(database_url)
    try:
        await database.migrate()
        return await seed_rooms(database, room_id, room_fields, [SMALL_ROOM])
    finally:
        await database.dispose()


@contextlib.contextmanager
def serve_apps(*served: tuple[str, Path, Mapping[str, Any]], workers: int = 1) -> Iterator[list[tuple[str, Recorded]]]:
    """Serve each (app, work dir, the waiting room's options), booted side by side; yields URLs and records.

    A server that exits before listening fails at once with its log; every server's
    log must show no traceback when it stops.
    """
    with contextlib.ExitStack() as stack:
        started = [stack.enter_context(_launched(app, workdir, options, workers)) for app, workdir, options in served]
        for process, port, _, log in started:
            _wait_until_listening(process, port, log)
        yield [(f"http://127.0.0.1:{port}", record) for _, port, record, _ in started]


@contextlib.contextmanager
def _launched(
    app: str, workdir: Path, options: Mapping[str, Any], workers: int
) -> Iterator[tuple[subprocess.Popen[bytes], int, Recorded, Path]]:
    """``app``'s server started (not yet listening) on a free port; stopped, and its log checked, after."""
    workdir.mkdir(parents=True, exist_ok=True)
    record = Recorded(workdir / "seen.jsonl")
    record.clear()
    env = {**os.environ, "ANTECHAMBER_TEST_OPTIONS": json.dumps(options), "ANTECHAMBER_TEST_RECORD": str(record.path)}
    port = free_port()
    log = workdir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(server_command(app, port, workers), cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        yield process, port, record, log
    finally:
        stop_process(process)
        text = log.read_text(errors="replace")
        assert "Traceback" not in text, text[-3000:]


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not port_open("127.0.0.1", port):
        status = process.poll()
        assert status is None, f"the app's server exited ({status}) before listening:\n{log.read_text()[-3000:]}"
        if time.monotonic() >= deadline:
            raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")
        time.sleep(0.05)


@contextlib.contextmanager
def run_app_site(
    app: str, workdir: Path, database_url: str, state: str, workers: int, **room_fields: Any
) -> Iterator[Site]:
    """Serve ``app`` with the waiting room following a fresh store (the main room and the two-user room)."""
    room_id = new_id()
    fields = {"enabled_origin_commands": ["revoke"], **room_fields}
    zone_id = asyncio.run(_seed(database_url, room_id, fields))
    options = {"database": database_url, "state": state, "data_dir": str(workdir / "data"),
               "follow_interval": 0.2, "state_prefix": f"app-{new_id()[:8]}"}  # fmt: skip
    with serve_apps((app, workdir, options), workers=workers) as [(url, record)]:
        node = AppNode(url, database_url, zone_id, room_id, shared=workers > 1)
        yield Site(record, node, node.url)  # duck-typed: the contract's origin and gateway


@contextlib.contextmanager
def run_room_sites(workdir: Path, *served: tuple[str, Mapping[str, Any]]) -> Iterator[list[Site]]:
    """Serve each (app, a single room given in code), one worker and memory state each, booted side by side.

    A room in code is fixed: the sites have no gateway to steer, only the record of what reached the app.
    """
    launches = []
    for n, (app, room) in enumerate(served):
        options = {"room": dict(room), "state": "memory", "data_dir": str(workdir / f"{n}-{app}" / "data")}
        launches.append((app, workdir / f"{n}-{app}", options))
    with serve_apps(*launches) as running:
        yield [Site(record, None, url) for url, record in running]  # type: ignore[arg-type]  # duck-typed origin
