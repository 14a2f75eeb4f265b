"""nginx ``auth_request`` in front of a real origin, configured as ``docs/examples/nginx/antechamber.conf``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.contract import ForwardAuthContract, Site, run_site
from tests.integration.support import run_nginx

pytestmark = pytest.mark.nginx


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Origin, gateway (main room with revoke, two-user room) and nginx, started once for the module."""
    with run_site(tmp_path_factory.mktemp("nginx-forward-auth"), run_nginx) as site:
        yield site


class TestNginx(ForwardAuthContract):
    """The contract through nginx: the queue page comes from ``error_page 401 = @antechamber_page``."""

    # The page location answers with the room's queueing_status_code (Cloudflare's default 200).
    queued_status = 200

    def test_queue_status_follows_room_setting(self, site: Site) -> None:
        """Through nginx the queue page carries the room's queueing_status_code (here 429) and its cookie."""
        site.gateway.update_room(queue_all=True, queueing_status_code=429)
        try:
            response = site.visit("/")
            assert 429 == response.status_code
            assert "retry-after" in response.headers
            assert any(v.startswith("__cfwaitingroom=") for v in response.headers.get_list("set-cookie"))
        finally:
            site.gateway.update_room(queueing_status_code=200)

    def test_auth_endpoints_are_internal(self, site: Site) -> None:
        """The auth subrequest location cannot be called from outside nginx."""
        assert 404 == site.visit("/.antechamber/auth/nginx").status_code
