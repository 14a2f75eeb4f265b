"""Caddy's expanded ``forward_auth`` in front of a real origin, configured as ``docs/examples/caddy/Caddyfile``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.contract import ForwardAuthContract, Site, run_site
from tests.integration.support import run_caddy

pytestmark = pytest.mark.caddy


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Origin, gateway (main room with revoke, two-user room) and Caddy, started once for the module."""
    with run_site(tmp_path_factory.mktemp("caddy-forward-auth"), run_caddy) as site:
        yield site


class TestCaddy(ForwardAuthContract):
    """The contract through Caddy: a queued visitor gets the gateway's own answer."""

    # Any 2xx from the auth endpoint means "allow" to Caddy, so the gateway queues with 429.
    queued_status = 429

    def test_queue_answer_asks_to_retry(self, site: Site) -> None:
        """Through Caddy a queued visitor gets the gateway's 429 with Retry-After, never a 2xx."""
        site.gateway.update_room(queue_all=True)
        response = site.visit("/")
        assert 429 == response.status_code
        assert "retry-after" in response.headers
