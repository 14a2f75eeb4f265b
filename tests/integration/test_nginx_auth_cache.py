"""The nginx fast path: ``docs/examples/nginx/antechamber.conf`` keeps an admitted visitor's auth answer for a second.

One room on the host (the cache applies only there), a real origin, the gateway and nginx
with the example file. The gateway counts the auth calls that reach it (its request
timings), so the tests see what nginx answered from its cache.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from antechamber.gateway.timing import RequestTimings
from tests.integration.contract import Site, assert_origin_page, room_cookie
from tests.integration.support import run_gateway, run_nginx, run_origin

pytestmark = [pytest.mark.nginx, pytest.mark.slow]

BROWSING_S = 12  # more than two renewal steps (RENEW_STEP_MS, 5 s)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Origin, gateway (one room on the host) and nginx with the example's cache."""
    workdir = tmp_path_factory.mktemp("nginx-auth-cache")
    with (
        run_origin() as origin,
        run_gateway(workdir / "gateway", f"http://127.0.0.1:{origin.port}") as gateway,
        run_nginx(workdir / "proxy", gateway.port, origin.port) as port,
    ):
        yield Site(origin, gateway, f"http://127.0.0.1:{port}")


def _let_through(response: httpx.Response) -> bool:
    """The origin answered (its JSON), not the gateway's queue page."""
    try:
        return bool(response.json().get("origin") == "hello")
    except ValueError:
        return False


def _reached(timings: RequestTimings) -> int:
    """Auth decisions the gateway made since the last call (nginx's cache answered the rest)."""
    return sum(sum(part.counts) for part in timings.take().latencies)


def test_an_admitted_visitor_mostly_stops_at_nginx_and_still_checks_in_each_renewal_step(stack: Site) -> None:
    """Twenty requests a second for 12 s reach the gateway about once a second, and the session renews every 5 s."""
    assert stack.gateway.app is not None
    timings = stack.gateway.app.timings = RequestTimings()
    active_before, _ = stack.gateway.counters()
    cookie = room_cookie(stack.visit("/"))
    assert cookie is not None
    requests = renewals = 0
    started = time.monotonic()
    while time.monotonic() - started < BROWSING_S:
        response = stack.visit(f"/page/{requests}", cookie=cookie)
        assert_origin_page(response, f"/page/{requests}")
        renewed = room_cookie(response)
        if renewed is not None and renewed != cookie:
            cookie, renewals = renewed, renewals + 1
        requests += 1
        time.sleep(0.05)
    reached = _reached(timings)
    print(f"\n{requests} requests in {BROWSING_S} s, {reached} reached the gateway, {renewals} renewals")
    # Paced at up to 20 a second; a loaded machine makes fewer, and a quarter of that is still
    # far more than the one a second (plus renewals) that nginx lets through to the gateway.
    assert requests >= 5 * BROWSING_S
    assert renewals >= BROWSING_S // 5  # a check-in within each renewal step
    assert reached <= BROWSING_S + renewals + 3  # about one a second, plus each renewal
    assert stack.gateway.counters()[0] == active_before + 1  # one more user on the site, counted once


def test_the_cache_lets_nobody_else_in(stack: Site) -> None:
    """While an admitted visitor's answer is kept, the full room queues a newcomer and an altered cookie is refused."""
    active, _ = stack.gateway.counters()
    stack.gateway.update_room(total_active_users=active + 1, new_users_per_minute=active + 1)
    try:
        admitted = room_cookie(stack.visit("/"))
        assert admitted is not None
        assert _let_through(stack.visit("/", cookie=admitted))  # kept by nginx from now on, for a second
        assert not _let_through(stack.visit("/"))  # the room is full: the queue page
        name, _, value = admitted.partition("=")
        altered = f"{name}={value[:-2]}{'AA' if value[-2:] != 'AA' else 'BB'}"
        assert not _let_through(stack.visit("/", cookie=altered))
        assert not _let_through(stack.visit("/", cookie=f"{name}="))
    finally:
        stack.gateway.update_room(total_active_users=200, new_users_per_minute=200)
