"""``scripts/cluster-demo``: nginx over three gateway nodes, an API node, Redis and PostgreSQL, stopped by Ctrl-C.

The script runs as a child process, as a person would run it; the test reads its banner,
sends visitors through nginx, then interrupts it and checks that every process it started
(read from ``/proc`` while it ran, grandchildren included) is gone, and with them its
ports, its temporary directory and the database it created.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests import services

pytestmark = [pytest.mark.slow, pytest.mark.nginx, pytest.mark.redis, pytest.mark.postgres]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "cluster-demo"
COOKIE = "__cfwaitingroom"
LAST_LINE = "Ctrl-C stops everything."
#: A hang guard for the start (four Python nodes on a busy machine), never a timing assertion.
PATIENCE_S = 180.0

Process = tuple[int, str]  # pid and start time: a pid reused by another process later is not the same one


@dataclass
class Run:
    """The running script, its output files and what its banner says."""

    process: subprocess.Popen[bytes]
    out: Path
    err: Path
    #: Every process seen below the script, for the fixture to kill if the script left any.
    seen: set[Process] = field(default_factory=set)

    def output(self) -> str:
        return self.out.read_text(errors="replace") + self.err.read_text(errors="replace")

    def banner(self) -> str:
        """The banner, once its last line is out."""
        deadline = time.monotonic() + PATIENCE_S
        while LAST_LINE not in (text := self.out.read_text(errors="replace")):
            assert self.process.poll() is None, f"the script exited ({self.process.returncode}):\n{self.output()}"
            assert time.monotonic() < deadline, f"no banner after {PATIENCE_S} s:\n{self.output()}"
            time.sleep(0.1)
        return text

    def line(self, name: str) -> str:
        """The rest of the banner line that starts with ``name``."""
        found = re.search(rf"^  {name}\s+(.*)$", self.banner(), re.MULTILINE)
        assert found, f"no {name} line in:\n{self.banner()}"
        return found.group(1)

    def look(self) -> set[Process]:
        """The processes below the script right now (remembered in ``seen``)."""
        found = descendants(self.process.pid)
        self.seen |= found
        return found


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, start time) of a live process, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None  # exited, not yet reaped
    return int(fields[1]), fields[19]


def descendants(root: int) -> set[Process]:
    """Every live process below ``root`` (children, grandchildren, ...)."""
    parents: dict[int, list[Process]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            parents.setdefault(stat[0], []).append((int(entry), stat[1]))
    found: set[Process] = set()
    todo = [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add(child)
            todo.append(child[0])
    return found


def alive(process: Process) -> bool:
    stat = _stat(process[0])
    return stat is not None and stat[1] == process[1]


def ports(line: str) -> list[int]:
    return [int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", line)]


async def database_exists(admin_url: str, name: str) -> bool:
    import asyncpg

    connection = await asyncpg.connect(admin_url)
    try:
        return bool(await connection.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", name))
    finally:
        await connection.close()


@pytest.fixture
def run(tmp_path: Path, postgres_admin_url: str) -> Iterator[Run]:
    """The script, started with its own database on the test PostgreSQL; whatever it started is killed if left."""
    services.require_binary("nginx", "/usr/sbin")
    services.require_binary("redis-server", "/usr/bin", "/usr/local/bin")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTECHAMBER_")}
    env |= {"CLUSTER_DEMO_PG_ADMIN_URL": postgres_admin_url, "TMPDIR": str(tmp_path)}
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen([str(SCRIPT)], stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL)
    running = Run(process, out, err)
    try:
        yield running
    finally:
        if process.poll() is None:
            running.look()
            process.send_signal(signal.SIGINT)  # let it stop what it started and drop its database
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        for left in running.seen:  # whatever the script did not stop itself: leave nothing running
            if alive(left):
                os.kill(left[0], signal.SIGKILL)


def test_cluster_demo_serves_through_nginx_and_stops_everything_on_ctrl_c(
    run: Run, tmp_path: Path, postgres_admin_url: str
) -> None:
    """Visitors through nginx get the room's cookie from all three gateways; SIGINT ends every process it started."""
    front = run.line("Front").split()[0]
    gateway_ports = ports(run.line("Gateways"))
    listening = [ports(front)[0], *gateway_ports, *ports(run.line("API")), *ports(run.line("Redis"))]
    listening += ports(run.line("Shop"))
    logs = Path(run.line("Logs").split()[0])
    database = re.search(r"database (\w+)", run.line("Store"))
    assert database is not None
    assert len(gateway_ports) == 3 and len(listening) == 7
    assert asyncio.run(database_exists(postgres_admin_url, database.group(1)))

    # Six new visitors, round robin over three gateways: each is admitted or queued, and carries a cookie.
    for _ in range(6):
        with httpx.Client(timeout=10) as visitor:
            response = visitor.get(front)
            assert response.status_code == 200, response.text[:500]
            assert COOKIE in visitor.cookies
            # The same visitor again, on the next gateway: the cookie opens there too (shared keys).
            again = visitor.get(front)
            assert again.status_code == 200 and COOKIE in visitor.cookies
    upstreams = set(re.findall(r"upstream=127\.0\.0\.1:(\d+)", (logs / "nginx-access.log").read_text()))
    assert upstreams == {str(p) for p in gateway_ports}

    # Redis, the shop, the API node, three gateways, nginx's master and worker at least.
    started = run.look()
    assert len(started) >= 8, started
    run.process.send_signal(signal.SIGINT)
    assert run.process.wait(90) == 0, run.output()
    assert "stopped" in run.err.read_text()
    assert not [p for p in started if alive(p)], run.output()
    assert not [p for p in listening if services.port_open("127.0.0.1", p)]
    assert not list(tmp_path.glob("antechamber-cluster.*")), "the temporary directory was left behind"
    assert not asyncio.run(database_exists(postgres_admin_url, database.group(1)))
