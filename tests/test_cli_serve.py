"""``antechamber serve``: the API and the gateway in one process, sharing the room state."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cloudflare
import httpx
import pytest
from typer.testing import CliRunner

from antechamber.cli import app, load_settings
from tests.services import GreetingOrigin, antechamber_command, free_port, http_origin, stop_process, wait_for_port

runner = CliRunner()
HOST = "shop.example.com"
#: A hang guard for things that should happen within a second or two, never a timing assertion.
PATIENCE_S = 20.0


class _OtherOrigin(GreetingOrigin):
    """A second site's own origin."""

    greeting = b"hello from the other origin"


@pytest.fixture
def origin() -> Iterator[str]:
    """The default origin."""
    with http_origin() as url:
        yield url


@pytest.fixture
def other_origin() -> Iterator[str]:
    """The origin of ``other.example.com`` (given with ``--origin-for``)."""
    with http_origin(_OtherOrigin) as url:
        yield url


def cli(*args: str) -> str:
    """Run the CLI in-process and return its output, failing on a non-zero exit."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@dataclass
class Served:
    """A running ``antechamber serve`` and what the test needs to talk to it."""

    process: subprocess.Popen[bytes]
    api: str
    gateway: str
    zone_id: str
    token: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


command = antechamber_command
stop = stop_process


@pytest.fixture(params=["uvicorn", "raw"])
def served(request: pytest.FixtureRequest, tmp_path: Path, origin: str, other_origin: str) -> Iterator[Served]:
    """``serve`` with the gateway (on uvicorn, or on its raw front end) in front of ``origin``, minimum lowered to 1."""
    data = ["--data-dir", str(tmp_path / "data")]
    zone_id = json.loads(cli("zones", "create", "example.com", *data, "--json"))["id"]
    token = json.loads(cli("tokens", "create", "--scope", "write", *data, "--json"))["token"]
    api_port, gateway_port = free_port(), free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            command(
                "serve",
                *data,
                "--api",
                f"127.0.0.1:{api_port}",
                "--gateway",
                f"127.0.0.1:{gateway_port}",
                "--origin",
                origin,
                "--origin-for",
                f"other.example.com={other_origin}",
                "--min-user-limit",
                "1",
                "--gateway-server",
                request.param,
            ),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port("127.0.0.1", api_port, timeout=60)
        wait_for_port("127.0.0.1", gateway_port, timeout=60)
        yield Served(
            process, f"http://127.0.0.1:{api_port}/client/v4", f"http://127.0.0.1:{gateway_port}", zone_id, token, log
        )
    finally:
        stop(process)
        assert token not in log.read_text(errors="replace")  # the token never reaches the log


def visitor(served: Served) -> httpx.Client:
    """A visitor with its own cookie jar, asking the gateway for the shop's host."""
    return httpx.Client(base_url=served.gateway, headers={"host": HOST}, timeout=10)


def test_room_created_through_the_api_is_enforced(served: Served) -> None:
    """A room made with the Cloudflare SDK is enforced by the gateway, and its status shows live numbers."""
    with visitor(served) as before:
        response = before.get("/")
        assert response.text == "hello from the origin"
        assert "__cfwaitingroom" not in response.headers.get("set-cookie", "")

    sdk = cloudflare.Cloudflare(api_token=served.token, base_url=served.api)
    room = sdk.waiting_rooms.create(
        zone_id=served.zone_id, host=HOST, name="shop", new_users_per_minute=1, total_active_users=1
    )

    # The config follower polls every half second; the hang guard is generous, the promise is 2 s.
    with visitor(served) as first, visitor(served) as second:
        deadline = time.monotonic() + PATIENCE_S
        while "__cfwaitingroom" not in first.get("/").headers.get("set-cookie", ""):
            assert time.monotonic() < deadline, "the gateway never enforced the new room"
            time.sleep(0.1)
        assert first.get("/").text == "hello from the origin"  # the admitted visitor keeps browsing
        queued = second.get("/")
        assert queued.headers["refresh"] == "20"
        assert "hello from the origin" not in queued.text

    assert room is not None and room.id is not None
    status = sdk.waiting_rooms.statuses.get(room.id, zone_id=served.zone_id)
    assert status is not None
    assert status.estimated_total_active_users is not None and status.estimated_total_active_users > 0
    assert status.estimated_queued_users is not None and status.estimated_queued_users > 0
    assert status.status == "queueing"


def test_origin_for_maps_a_host_to_its_own_origin(served: Served) -> None:
    """A host given with --origin-for reaches its own origin; other hosts reach the default one."""
    with httpx.Client(base_url=served.gateway, headers={"host": "other.example.com"}, timeout=10) as other:
        assert other.get("/").text == "hello from the other origin"
    with visitor(served) as shop:
        assert shop.get("/").text == "hello from the origin"


def test_sigterm_stops_everything(served: Served) -> None:
    """SIGTERM stops the API and the gateway, and the process exits cleanly."""
    assert stop(served.process, signal.SIGTERM) == 0
    assert "Traceback" not in served.output()


def test_sigint_stops_everything(served: Served) -> None:
    """SIGINT (Ctrl-C) stops both listeners too, without a traceback."""
    assert stop(served.process, signal.SIGINT) == 0
    assert "Traceback" not in served.output()


def test_cookie_keys_are_created_private(served: Served, tmp_path: Path) -> None:
    """The first start writes the cookie keys into the data directory, readable by the owner only."""
    keys = tmp_path / "data" / "cookie-keys.json"
    assert keys.exists()
    assert keys.stat().st_mode & 0o777 == 0o600
    assert keys.read_text() not in served.output()


def test_port_in_use_fails_fast(tmp_path: Path) -> None:
    """A gateway port already taken exits 1 with the reason, before serving anything."""
    taken = free_port()
    blocker = subprocess.Popen([sys.executable, "-m", "http.server", str(taken), "--bind", "127.0.0.1"])
    try:
        wait_for_port("127.0.0.1", taken)
        result = subprocess.run(
            command(
                "serve",
                "--data-dir",
                str(tmp_path / "d"),
                "--api",
                f"127.0.0.1:{free_port()}",
                "--gateway",
                f"127.0.0.1:{taken}",
            ),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        stop(blocker)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{taken}" in result.stderr


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--gateway", "nowhere"], "expected HOST:PORT"),
        (["--api", "127.0.0.1:9", "--gateway", "127.0.0.1:9"], "cannot both listen"),
        (["--origin", "ftp://x"], "origin must be http(s)"),
        (["--origin-for", "shop.example.com"], "HOST=URL"),
        (["--trusted-proxy", "not-an-ip"], "does not appear to be an IPv4 or IPv6"),
        (["--min-user-limit", "0"], "--min-user-limit"),
        (["--gateway-server", "granian"], "uvicorn or raw"),
        (["--workers", "2"], "--state redis://"),
        (["--state", "postgres://x"], "--state must be memory or a redis://"),
        (["--state-failure", "maybe"], "hold or open"),
        (["--api", "off", "--gateway", "off"], "nothing to serve"),
        (["--workers", "0"], "--workers"),
    ],
)
def test_bad_flags_are_refused(tmp_path: Path, flags: list[str], words: str) -> None:
    """Malformed addresses, origins, proxies and limits exit non-zero with the reason."""
    result = runner.invoke(app, ["serve", "--data-dir", str(tmp_path / "d"), *flags])
    assert result.exit_code != 0
    assert words in result.output


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """ANTECHAMBER_GATEWAY, _ORIGIN, _ORIGIN_FOR, _TRUSTED_PROXIES and _MIN_USER_LIMIT reach the settings."""
    monkeypatch.setenv("ANTECHAMBER_GATEWAY", "127.0.0.1:9000")
    monkeypatch.setenv("ANTECHAMBER_ORIGIN", "http://127.0.0.1:3000")
    monkeypatch.setenv("ANTECHAMBER_ORIGIN_FOR", '{"b.example.com": "http://127.0.0.1:3001"}')
    monkeypatch.setenv("ANTECHAMBER_TRUSTED_PROXIES", '["10.0.0.0/8"]')
    monkeypatch.setenv("ANTECHAMBER_MIN_USER_LIMIT", "10")
    settings = load_settings(None, None)
    assert settings.gateway == "127.0.0.1:9000"
    assert settings.origin == "http://127.0.0.1:3000"
    assert settings.origin_for == {"b.example.com": "http://127.0.0.1:3001"}
    assert settings.trusted_proxies == ["10.0.0.0/8"]
    assert settings.min_user_limit == 10
    flagged = load_settings(None, None, gateway="127.0.0.1:9001", min_user_limit=None)
    assert flagged.gateway == "127.0.0.1:9001" and flagged.min_user_limit == 10
    defaults = {key: os.environ.pop(key) for key in list(os.environ) if key.startswith("ANTECHAMBER_")}
    try:
        plain = load_settings(None, None)
        assert (plain.gateway, plain.origin, plain.min_user_limit) == ("127.0.0.1:8000", None, 200)
        assert plain.trusted_proxies == ["127.0.0.0/8", "::1/128"]
    finally:
        os.environ.update(defaults)


@pytest.mark.parametrize("command_name", ["serve", "demo", "surge"])
def test_help(command_name: str) -> None:
    """serve, demo and surge answer --help with their main flags."""
    out = cli(command_name, "--help")
    expected = {
        "serve": ["--gateway", "--origin", "--origin-for", "--trusted-proxy", "--min-user-limit", "--gateway-server"],
        "demo": ["--gateway", "--api", "--shop", "--data-dir"],
        "surge": ["--url", "--visitors", "--rate", "--duration"],
    }[command_name]
    for flag in expected:
        assert flag in out
