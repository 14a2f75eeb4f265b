"""The proxy configurations the docs show are the ones the integration tests run."""

from __future__ import annotations

import pytest

from tests.integration.support import EXAMPLES, FORWARD_AUTH_DOC


@pytest.mark.parametrize("name", ["nginx/antechamber.conf", "caddy/Caddyfile", "traefik/dynamic.yml"])
def test_example_is_quoted_verbatim_in_docs(name: str) -> None:
    """Each file under docs/examples appears, unchanged, in docs/FORWARD_AUTH.md."""
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    assert text in FORWARD_AUTH_DOC.read_text(encoding="utf-8"), f"docs/FORWARD_AUTH.md must quote {name} verbatim"
