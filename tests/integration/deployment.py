"""A deployment of several ``antechamber serve`` processes on this machine, and a crowd to send at it.

The nodes share a PostgreSQL config store, a Redis state store and a data directory
(the cookie keys); the first node also serves the API, the others run with ``--api off``.
The crowd's visitors each keep their own cookie and send every request to a node
picked at random, so a visitor's place must hold across nodes.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import signal
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path

import cloudflare
import httpx
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from antechamber.cli import app
from tests.services import antechamber_command, free_port, port_open, stop_process

HOST = "shop.example.com"
COOKIE = "__cfwaitingroom"
GREETING = "hello from the origin"  # what tests.services.GreetingOrigin answers


def cli(*args: str) -> str:
    """Run the CLI in-process and return its output, failing on a non-zero exit."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@dataclass
class Node:
    """One ``antechamber serve`` process."""

    name: str
    args: list[str]
    gateway_port: int
    api_port: int | None
    log: Path
    metrics_port: int | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.launch()
        self.wait_until_listening()

    def launch(self) -> None:
        """Start the process without waiting for it (several nodes boot side by side)."""
        with open(self.log, "ab") as sink:
            self.process = subprocess.Popen(
                antechamber_command("serve", *self.args), stdout=sink, stderr=subprocess.STDOUT
            )

    def wait_until_listening(self, timeout: float = 60) -> None:
        """Block until the gateway (and the API, if this node serves it) accept connections.

        Fails at once, with the node's log, if the process exits first.
        """
        assert self.process is not None
        deadline = time.monotonic() + timeout
        for port in (self.gateway_port, self.api_port):
            while port is not None and not port_open("127.0.0.1", port):
                status = self.process.poll()
                assert status is None, f"{self.name} exited ({status}) before listening:\n{self.output()[-3000:]}"
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"{self.name}: nothing listened on 127.0.0.1:{port} within {timeout}s")
                time.sleep(0.05)

    def stop(self, signum: int = signal.SIGTERM) -> int | None:
        """Signal the process and wait for it (killing it if it hangs); returns its exit status."""
        process, self.process = self.process, None
        return None if process is None else stop_process(process, signum, timeout=20)

    @property
    def up(self) -> bool:
        return self.process is not None and self.process.poll() is None and port_open("127.0.0.1", self.gateway_port)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Deployment:
    """The nodes, the API's URL, a write token and the zone to make rooms in."""

    nodes: list[Node]
    api: str
    token: str
    zone_id: str

    def sdk(self) -> cloudflare.Cloudflare:
        return cloudflare.Cloudflare(api_token=self.token, base_url=self.api, max_retries=0, timeout=30)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def start_deployment(
    tmp_path: Path,
    *,
    nodes: int,
    database_url: str,
    state: str,
    origin: str,
    extra: Sequence[str] = (),
    metrics: bool = False,
) -> Deployment:
    """``nodes`` gateway processes on one store and one state; the first also serves the API.

    ``metrics``: each node also serves Prometheus metrics on a listener of its own.
    """
    data = ["--data-dir", str(tmp_path / "data"), "--database-url", database_url]
    zone_id = json.loads(cli("zones", "create", "example.com", *data, "--json"))["id"]
    token = json.loads(cli("tokens", "create", "--scope", "write", *data, "--json"))["token"]
    started: list[Node] = []
    taken: set[int] = set()

    def port() -> int:
        """A free port not handed to another node yet (none of them listens before all are launched)."""
        while (found := free_port()) in taken:
            pass
        taken.add(found)
        return found

    api_port = port()
    for index in range(nodes):
        gateway_port = port()
        api = ["--api", f"127.0.0.1:{api_port}"] if index == 0 else ["--api", "off"]
        args = [*data, *api, "--gateway", f"127.0.0.1:{gateway_port}", "--origin", origin]
        args += ["--state", state, "--min-user-limit", "1", "--log-level", "warning", *extra]
        metrics_port = port() if metrics else None
        if metrics_port is not None:
            args += ["--metrics", f"127.0.0.1:{metrics_port}"]
        node = Node(
            f"node{index}",
            args,
            gateway_port,
            api_port if index == 0 else None,
            tmp_path / f"node{index}.log",
            metrics_port,
        )
        node.launch()  # the nodes boot side by side; each is waited for below
        started.append(node)
    try:
        for node in started:
            node.wait_until_listening()
    except BaseException:
        for node in started:
            node.stop()
        raise
    return Deployment(started, f"http://127.0.0.1:{api_port}/client/v4", token, zone_id)


@dataclass
class Visitor:
    """One simulated person: arrives, waits as told, is let in once."""

    number: int
    arrival: float
    cookie: str | None = None
    admitted_at: float | None = None
    statuses: list[int] = field(default_factory=list)


@dataclass
class Crowd:
    """What happened to everyone: who got in when, and every status code seen."""

    visitors: list[Visitor]
    errors: list[str] = field(default_factory=list)

    @property
    def admitted(self) -> list[Visitor]:
        return [v for v in self.visitors if v.admitted_at is not None]

    def most_in_any(self, window_s: float) -> int:
        """The most admissions inside any ``window_s`` (every session outlasts the test: active users)."""
        times = sorted(v.admitted_at for v in self.admitted if v.admitted_at is not None)
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] >= window_s:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    def kendall_tau(self) -> float:
        """Normalised Kendall distance between arrival second and admission, over pairs of distinct seconds.

        A pair is out of order when the later arrival got in first, or got in while the
        earlier one never did.
        """
        people = self.visitors
        inf = float("inf")
        discordant = total = 0
        for i, a in enumerate(people):
            for b in people[i + 1 :]:
                first, second = (a, b) if a.arrival < b.arrival else (b, a)
                if int(first.arrival) == int(second.arrival):
                    continue  # FIFO holds to the second
                if first.admitted_at is None and second.admitted_at is None:
                    continue
                total += 1
                if (first.admitted_at or inf) > (second.admitted_at or inf):
                    discordant += 1
        return discordant / total if total else 0.0

    def wait_percentile(self, q: int) -> float:
        """The ``q``-th percentile wait (arrival to admission) by nearest rank, as the analytics take it.

        (An interpolated quantile over a few dozen waits can fall mid-way across a jump between two.)
        """
        waits = sorted(v.admitted_at - v.arrival for v in self.admitted if v.admitted_at is not None)
        return waits[max(1, math.ceil(len(waits) * q / 100)) - 1]

    def server_errors(self) -> int:
        return sum(1 for v in self.visitors for s in v.statuses if s >= 500)


def _cookie_from(response: httpx.Response) -> str | None:
    for value in response.headers.get_list("set-cookie"):
        name, _, rest = value.partition("=")
        if name.strip() == COOKIE:
            return rest.split(";", 1)[0]
    return None


async def run_crowd(
    deployment: Deployment,
    *,
    visitors: int,
    arrive_over_s: float,
    duration_s: float,
    seed: int = 7,
    alive: Sequence[Node] | None = None,
) -> Crowd:
    """Send ``visitors`` at the nodes (a random live node per request) for ``duration_s``; bounded in time."""
    rng = random.Random(seed)
    crowd = Crowd([Visitor(i, rng.uniform(0, arrive_over_s)) for i in range(visitors)])
    start = time.monotonic()
    limits = httpx.Limits(max_connections=64)
    # One client for the whole crowd, so it must keep no cookies: each visitor carries its own.
    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    async with httpx.AsyncClient(timeout=10, limits=limits, cookies=jar) as client:

        async def live() -> Node:
            while True:
                choices = [n for n in (alive or deployment.nodes) if n.process is not None and n.process.poll() is None]
                if choices:
                    return rng.choice(choices)
                await asyncio.sleep(0.1)

        async def visit(person: Visitor) -> None:
            await asyncio.sleep(person.arrival)
            while time.monotonic() - start < duration_s:
                node = await live()
                headers = {"host": HOST}
                if person.cookie:
                    headers["cookie"] = f"{COOKIE}={person.cookie}"
                try:
                    response = await client.get(f"http://127.0.0.1:{node.gateway_port}/", headers=headers)
                except httpx.TransportError as exc:
                    crowd.errors.append(f"{node.name}: {type(exc).__name__}")
                    await asyncio.sleep(1)
                    continue
                person.statuses.append(response.status_code)
                person.cookie = _cookie_from(response) or person.cookie
                if response.status_code == 200 and response.text == GREETING:
                    person.admitted_at = time.monotonic() - start
                    return
                wait = float(response.headers.get("refresh", "20").split(";")[0]) + rng.uniform(0, 0.5)
                if time.monotonic() + wait - start >= duration_s:
                    return  # the next refresh would come after the crowd stops: no more requests, so no wait
                await asyncio.sleep(wait)

        await asyncio.gather(*(visit(v) for v in crowd.visitors))
    return crowd


def make_room(deployment: Deployment, limit: int) -> str:
    """A room at ``HOST`` letting in ``limit`` new users a minute, ``limit`` at a time; once every node follows it."""
    room = deployment.sdk().waiting_rooms.create(
        zone_id=deployment.zone_id,
        host=HOST,
        name=f"sale_{uuid.uuid4().hex[:8]}",
        new_users_per_minute=limit,
        total_active_users=limit,
        session_duration=5,
    )
    assert room is not None and room.id is not None
    time.sleep(2.5)  # every node follows the store within 2 s
    return room.id


def store_health(deployment: Deployment, room_id: str) -> dict[str, object]:
    """The status API's ``state_store`` (Antechamber's addition; the SDK keeps unknown fields)."""
    status = deployment.sdk().waiting_rooms.statuses.get(room_id, zone_id=deployment.zone_id)
    assert status is not None
    health = status.to_dict().get("state_store")
    assert isinstance(health, dict)
    return health


def room_status(deployment: Deployment, room_id: str) -> tuple[int, int]:
    """(active, queued) as the status API reports them: every node's counters together."""
    status = deployment.sdk().waiting_rooms.statuses.get(room_id, zone_id=deployment.zone_id)
    assert status is not None
    return status.estimated_total_active_users or 0, status.estimated_queued_users or 0


def analytics(deployment: Deployment, room_id: str, **params: str) -> httpx.Response:
    """The room's analytics from the API (every node's rows merged); ``params`` such as ``format="csv"``."""
    url = f"{deployment.api}/zones/{deployment.zone_id}/waiting_rooms/{room_id}/analytics"
    return httpx.get(url, params=params, headers={"authorization": f"Bearer {deployment.token}"}, timeout=10)


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    """A Prometheus scrape: each sample by name and all its labels (sorted)."""
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
