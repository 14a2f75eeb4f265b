"""``antechamber surge``: a bounded crowd of simulated visitors against a local waiting room.

Visitors arrive at a steady rate, each with its own client and cookie jar. A queued
visitor refreshes when the page's ``Refresh`` header says (20 s); an admitted one
browses a few pages and leaves. One line a second shows arrivals, admissions, the
queue and the median wait, so a person can watch the same queue in a browser.

It is a demo tool, not a load tester: it only targets this machine (the host must
resolve to 127.0.0.0/8 or ::1, and connections go to the address that was checked),
and the number of visitors, the rate and the duration are capped.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import socket
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_VISITORS = 1000
MAX_RATE = 100.0
MAX_DURATION = 900.0
#: Seconds an admitted visitor spends on a page before the next one.
THINK_SECONDS = (1.0, 3.0)
#: When the queue page gives no ``Refresh``, refresh as Cloudflare's page does.
DEFAULT_REFRESH = 20.0


class SurgeError(ValueError):
    """The surge cannot run as asked (the message says why)."""


@dataclass(frozen=True, slots=True)
class SurgePlan:
    """A checked surge: where to connect (a loopback address) and what to send."""

    url: str
    connect_url: str  # scheme://loopback-ip:port, the address that passed the check
    host_header: str
    path: str
    visitors: int
    rate: float
    duration: float
    pages: int

    @classmethod
    def checked(cls, *, url: str, visitors: int, rate: float, duration: float, pages: int = 3) -> SurgePlan:
        """Validate the bounds and the target; raises :class:`SurgeError` with the reason."""
        if not 1 <= visitors <= MAX_VISITORS:
            raise SurgeError(f"--visitors must be between 1 and {MAX_VISITORS}")
        if not 0 < rate <= MAX_RATE:
            raise SurgeError(f"--rate must be above 0 and at most {MAX_RATE:g} visitors a second")
        if not 0 < duration <= MAX_DURATION:
            raise SurgeError(f"--duration must be above 0 and at most {MAX_DURATION:g} seconds")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SurgeError(f"--url must be http(s)://host[:port]/path, got {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = loopback_address(parts.hostname, port)
        literal = f"[{address}]" if ":" in address else address
        return cls(
            url=url,
            connect_url=f"{parts.scheme}://{literal}:{port}",
            host_header=parts.netloc.rpartition("@")[2],
            path=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
            visitors=visitors,
            rate=rate,
            duration=duration,
            pages=pages,
        )


def loopback_address(host: str, port: int) -> str:
    """The address to connect to: ``host`` must resolve to loopback only; IPv4 preferred."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise SurgeError(f"cannot resolve {host!r}: {exc.strerror or exc}") from None
    addresses = sorted(
        {ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos},
        key=lambda a: (a.version, int(a)),
    )
    outside = [str(a) for a in addresses if not a.is_loopback]
    if not addresses or outside:
        raise SurgeError(
            f"{host!r} resolves to {', '.join(outside) or 'nothing'}: surge only targets this machine "
            "(127.0.0.0/8 or ::1), so that it cannot be pointed at someone else's site"
        )
    return str(addresses[0])


@dataclass
class SurgeStats:
    """Counters shared by every visitor; read once a second for the live line."""

    started: float = field(default_factory=time.monotonic)
    arrived: int = 0
    admitted: int = 0
    queued: int = 0  # waiting right now
    browsing: int = 0
    left: int = 0
    rejected: int = 0
    errors: int = 0
    still_queued: int = 0  # in line when the surge ended
    waits: list[float] = field(default_factory=list)

    def line(self) -> str:
        """The live line: elapsed seconds and every counter, with the median wait of those admitted."""
        median = f"{statistics.median(self.waits):.1f}s" if self.waits else "-"
        extra = "".join(
            f"  {label} {count}"
            for label, count in (
                ("still queued at the end", self.still_queued),
                ("rejected", self.rejected),
                ("errors", self.errors),
            )
            if count
        )
        return (
            f"t={time.monotonic() - self.started:5.0f}s  arrived {self.arrived:4d}  admitted {self.admitted:4d}"
            f"  queued {self.queued:4d}  browsing {self.browsing:3d}  left {self.left:4d}  median wait {median}{extra}"
        )


def refresh_seconds(value: str | None) -> float:
    """Seconds from a ``Refresh`` header (``20`` or ``20; url=...``)."""
    if value is None:
        return DEFAULT_REFRESH
    try:
        return max(1.0, float(value.split(";", 1)[0].strip()))
    except ValueError:
        return DEFAULT_REFRESH


async def visit(plan: SurgePlan, stats: SurgeStats, deadline: float, rng: random.Random) -> None:
    """One visitor: wait in the queue as long as it takes (or until the deadline), browse, leave."""
    import httpx

    headers = {"host": plan.host_header, "user-agent": "antechamber-surge", "accept": "text/html"}
    arrived = time.monotonic()
    stats.arrived += 1
    waiting = False
    async with httpx.AsyncClient(base_url=plan.connect_url, headers=headers, timeout=15.0) as client:
        try:
            while True:
                response = await client.get(plan.path)
                if "refresh" not in response.headers:
                    break
                if not waiting:
                    waiting, stats.queued = True, stats.queued + 1
                pause = refresh_seconds(response.headers.get("refresh"))
                if time.monotonic() + pause >= deadline:
                    # Stay in line until the surge ends, so the live line keeps counting this visitor.
                    await asyncio.sleep(max(0.0, deadline - time.monotonic()))
                    stats.still_queued += 1
                    return
                await asyncio.sleep(pause)
            if waiting:
                waiting, stats.queued = False, stats.queued - 1
            if response.status_code >= 400:
                stats.rejected += 1
                return
            stats.admitted += 1
            stats.waits.append(time.monotonic() - arrived)
            stats.browsing += 1
            try:
                for page in _pages(plan.pages - 1, rng):
                    await asyncio.sleep(rng.uniform(*THINK_SECONDS))
                    await client.get(page)
            finally:
                stats.browsing -= 1
            stats.left += 1
        except httpx.HTTPError:
            stats.errors += 1
        finally:
            if waiting:
                stats.queued -= 1


def _pages(count: int, rng: random.Random) -> list[str]:
    """The demo shop's pages, in a plausible order (other sites simply answer what they have)."""
    products = ["/product/lantern", "/product/armchair", "/product/hourglass", "/product/ticket"]
    tail = ["/cart", "/checkout"]
    route = [rng.choice(products) for _ in range(max(0, count - len(tail)))] + tail
    return route[:count]


async def reachable(plan: SurgePlan) -> None:
    """Fail early and clearly when nothing listens at the target."""
    parts = urlsplit(plan.connect_url)
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, parts.port), 5)
    except (OSError, TimeoutError):
        raise SurgeError(f"nothing answers at {plan.url} (is `antechamber demo` running?)") from None
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def run_surge(plan: SurgePlan, out: Callable[[str], None] = print) -> SurgeStats:
    """Run the surge to its end (every visitor done, or the duration over); returns the final counters."""
    try:
        import httpx  # noqa: F401  (installed with the dev extra; not needed to run Antechamber itself)
    except ImportError:  # pragma: no cover - depends on the installation
        raise SurgeError("antechamber surge needs httpx: pip install httpx") from None
    await reachable(plan)
    out(
        f"surge: {plan.visitors} visitors at {plan.rate:g}/s against {plan.url} for at most {plan.duration:g}s "
        f"(queued visitors refresh as the page says; Ctrl-C stops)"
    )
    stats = SurgeStats()
    deadline = stats.started + plan.duration
    rng = random.Random()
    tasks: list[asyncio.Task[None]] = []

    async def arrivals() -> None:
        for index in range(plan.visitors):
            due = stats.started + index / plan.rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if time.monotonic() >= deadline:
                return
            tasks.append(asyncio.create_task(visit(plan, stats, deadline, random.Random(rng.random()))))

    arriving = asyncio.create_task(arrivals())
    try:
        while time.monotonic() < deadline:
            await asyncio.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            out(stats.line())
            if arriving.done() and all(task.done() for task in tasks):
                break
    finally:
        arriving.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(arriving, *tasks, return_exceptions=True)
    out("done: " + stats.line())
    return stats
