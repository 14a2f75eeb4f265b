"""``antechamber surge``: bounded, loopback-only, and it fills a running demo's room."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from antechamber.cli import app
from antechamber.surge import MAX_DURATION, MAX_VISITORS, SurgeError, SurgePlan, refresh_seconds
from tests.services import free_port
from tests.test_demo import running_demo

runner = CliRunner()


def plan(url: str = "http://127.0.0.1:8000/", changes: dict[str, float] | None = None) -> SurgePlan:
    """A checked plan with sensible defaults and some values changed."""
    values: dict[str, float] = {"visitors": 10, "rate": 2.0, "duration": 5.0}
    values.update(changes or {})
    return SurgePlan.checked(
        url=url, visitors=int(values["visitors"]), rate=values["rate"], duration=values["duration"]
    )


@pytest.mark.parametrize(
    "url", ["http://203.0.113.5/", "http://10.0.0.1:8000/", "http://[2001:db8::1]/", "http://0.0.0.0:8000/"]
)
def test_refuses_targets_off_this_machine(url: str) -> None:
    """A host that does not resolve to 127.0.0.0/8 or ::1 is refused, saying why."""
    with pytest.raises(SurgeError, match="only targets this machine"):
        plan(url)


def test_accepts_loopback_and_pins_the_checked_address() -> None:
    """Loopback names and addresses pass; connections go to the checked address with the original Host."""
    checked = plan("http://localhost:8000/shop?x=1")
    assert checked.connect_url in ("http://127.0.0.1:8000", "http://[::1]:8000")
    assert checked.host_header == "localhost:8000"
    assert checked.path == "/shop?x=1"
    assert plan("http://127.0.0.2:9/").connect_url == "http://127.0.0.2:9"
    assert plan("http://[::1]:9/").connect_url == "http://[::1]:9"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"visitors": MAX_VISITORS + 1}, "--visitors"),
        ({"visitors": 0}, "--visitors"),
        ({"duration": MAX_DURATION + 1}, "--duration"),
        ({"rate": 0}, "--rate"),
        ({"rate": 1000}, "--rate"),
    ],
)
def test_bounds_are_enforced(changes: dict[str, float], words: str) -> None:
    """The number of visitors, the rate and the duration are capped."""
    with pytest.raises(SurgeError, match=words):
        plan(changes=changes)


def test_refresh_header_parsing() -> None:
    """The Refresh header's seconds are honoured; a missing or odd one means Cloudflare's 20."""
    assert refresh_seconds("20") == 20
    assert refresh_seconds("5; url=/") == 5
    assert refresh_seconds(None) == 20
    assert refresh_seconds("soon") == 20


def test_cli_refuses_a_remote_url() -> None:
    """The command exits 1 and explains the loopback rule."""
    result = runner.invoke(app, ["surge", "--url", "http://203.0.113.5/", "--duration", "1"])
    assert result.exit_code == 1
    assert "only targets this machine" in result.output


def test_cli_says_when_nothing_listens() -> None:
    """Against a closed port the command exits 1 and suggests starting the demo."""
    result = runner.invoke(app, ["surge", "--url", f"http://127.0.0.1:{free_port()}/", "--duration", "1"])
    assert result.exit_code == 1
    assert "antechamber demo" in result.output


def counters(line: str) -> dict[str, int]:
    """The named counters of one live line."""
    return {name: int(value) for name, value in re.findall(r"(arrived|admitted|queued|browsing|left)\s+(\d+)", line)}


def test_surge_fills_the_demo_room(tmp_path: Path) -> None:
    """Against a running demo, surge prints a line a second, admits the first visitors and queues the rest."""
    with running_demo(tmp_path / "data") as demo:
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "from antechamber.cli import main; main()",
                "surge",
                "--url",
                f"http://localhost:{demo.gateway_port}/",
                "--visitors",
                "15",
                "--rate",
                "10",
                "--duration",
                "4",
                "--pages",
                "2",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("t=")]
    assert len(lines) >= 2
    seen = [counters(line) for line in lines]
    assert max(c["arrived"] for c in seen) == 15
    assert max(c["admitted"] for c in seen) >= 1
    assert max(c["queued"] for c in seen) >= 1
    last = result.stdout.splitlines()[-1]
    assert last.startswith("done: ")
    assert "still queued at the end" in last  # at most 5 of the 15 could get in
    assert "median wait" in lines[-1]
