"""A real ``antechamber serve`` per storage backend, set up only through the CLI contract.

Each backend gets one server for the whole session (SQLite in a temporary data
directory, PostgreSQL in a fresh database). Zones and tokens are created with
``antechamber zones create`` / ``antechamber tokens create`` before the server
starts; tests then talk to it only through the official ``cloudflare`` SDK, or
plain ``httpx`` for the public preview page.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import cloudflare
import pytest

from tests import services
from tests.sdk.support import ApiServer, discover_account_id

BACKENDS = ["sqlite", "postgres"]
ZONES = {"main": "example.com", "pager": "pager.test", "other": "other.test", "settings": "settings.test"}


def antechamber_binary() -> str:
    """The CLI installed next to the running interpreter (the project's venv)."""
    return str(Path(sys.executable).with_name("antechamber"))


def run_cli(args: list[str], storage: list[str]) -> dict[str, object]:
    """Run one ``antechamber ... --json`` command and return the JSON object it printed."""
    proc = subprocess.run(
        [antechamber_binary(), *args, *storage, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"antechamber {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    # The JSON object is the last line that looks like one; anything before it is chatter.
    for line in reversed(proc.stdout.strip().splitlines()):
        if line.lstrip().startswith("{"):
            data = json.loads(line)
            assert isinstance(data, dict)
            return data
    return dict(json.loads(proc.stdout))


@contextlib.contextmanager
def running_server(storage: list[str], log_path: Path) -> Iterator[int]:
    """Start ``antechamber serve`` on a free port; yield the port; stop it afterwards."""
    port = services.free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [antechamber_binary(), "serve", *storage, "--api", f"127.0.0.1:{port}"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            try:
                services.wait_for_port("127.0.0.1", port, timeout=30)
            except TimeoutError:
                proc.kill()
                proc.wait(10)
                log_text = log_path.read_text(errors="replace")
                raise RuntimeError(f"antechamber serve did not listen:\n{log_text}") from None
            if proc.poll() is not None:
                raise RuntimeError(f"antechamber serve exited:\n{log_path.read_text(errors='replace')}")
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


@pytest.fixture(scope="session", params=BACKENDS)
def api_server(request: pytest.FixtureRequest) -> Iterator[ApiServer]:
    """A running API server with four zones and write, read and zone-limited tokens."""
    backend: str = request.param
    with contextlib.ExitStack() as stack:
        data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"antechamber-sdk-{backend}-"))
        storage = ["--data-dir", data_dir]
        if backend == "postgres":
            admin_url: str = request.getfixturevalue("postgres_admin_url")
            storage += ["--database-url", stack.enter_context(services.fresh_postgres_database(admin_url))]
        created = {key: run_cli(["zones", "create", name], storage) for key, name in ZONES.items()}
        zone_ids = {key: str(out["id"]) for key, out in created.items()}
        write = str(run_cli(["tokens", "create", "--scope", "write"], storage)["token"])
        read = str(run_cli(["tokens", "create", "--scope", "read"], storage)["token"])
        zone_limited = str(
            run_cli(["tokens", "create", "--scope", "write", "--zone", zone_ids["main"]], storage)["token"]
        )
        port = stack.enter_context(running_server(storage, Path(data_dir) / "serve.log"))
        server = ApiServer(
            backend=backend,
            origin=f"http://127.0.0.1:{port}",
            zone_id=zone_ids["main"],
            zone_name=ZONES["main"],
            pager_zone_id=zone_ids["pager"],
            other_zone_id=zone_ids["other"],
            settings_zone_id=zone_ids["settings"],
            account_id="",
            write_token=write,
            read_token=read,
            zone_token=zone_limited,
        )
        client = stack.enter_context(server.client())
        server.account_id = discover_account_id(client, created["main"], server)
        yield server


@pytest.fixture(scope="session")
def cf(api_server: ApiServer) -> Iterator[cloudflare.Cloudflare]:
    """An SDK client with a write token for every zone, no retries."""
    with api_server.client() as client:
        yield client


@pytest.fixture(scope="session")
def zone_id(api_server: ApiServer) -> str:
    """The zone (``example.com``) most tests create their rooms in."""
    return api_server.zone_id


@pytest.fixture(autouse=True)
def _no_sdk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The SDK reads credentials and base URL from the environment when an argument is
    # missing; a developer's real Cloudflare settings must never leak into these tests.
    for name in list(os.environ):
        if name.startswith("CLOUDFLARE_"):
            monkeypatch.delenv(name)
