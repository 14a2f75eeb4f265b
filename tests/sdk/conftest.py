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
    return run_cli_many([args], storage)[0]


def run_cli_many(commands: list[list[str]], storage: list[str]) -> list[dict[str, object]]:
    """Run several ``antechamber ... --json`` commands at once (each takes a second or two to start)."""
    procs = [
        subprocess.Popen(
            [antechamber_binary(), *args, *storage, "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    results = []
    for args, proc in zip(commands, procs, strict=True):
        stdout, stderr = proc.communicate(timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"antechamber {' '.join(args)} failed ({proc.returncode}):\n{stdout}\n{stderr}")
        results.append(parse_json_output(stdout))
    return results


def parse_json_output(stdout: str) -> dict[str, object]:
    """The JSON object a ``--json`` command printed (the last line that looks like one)."""
    for line in reversed(stdout.strip().splitlines()):
        if line.lstrip().startswith("{"):
            data = json.loads(line)
            assert isinstance(data, dict)
            return data
    raise ValueError(f"no JSON object in the output: {stdout!r}")


class Server:
    """An ``antechamber serve`` child process on a free port."""

    def __init__(self, storage: list[str], log_path: Path) -> None:
        self.port = services.free_port()
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    antechamber_binary(),
                    "serve",
                    *storage,
                    "--api",
                    f"127.0.0.1:{self.port}",
                    # serve also starts the gateway (default 127.0.0.1:8000, which may be taken).
                    "--gateway",
                    f"127.0.0.1:{services.free_port()}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> None:
        """Block until the server listens; raise with its log if it exits or never listens."""
        try:
            services.wait_for_port("127.0.0.1", self.port, timeout=60)
        except TimeoutError:
            raise RuntimeError(f"antechamber serve did not listen:\n{self.log()}") from None
        if self.proc.poll() is not None:
            raise RuntimeError(f"antechamber serve exited:\n{self.log()}")

    def log(self) -> str:
        """Everything the server has printed so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Terminate the server, killing it if it does not stop in time."""
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


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
        # The first command creates the schema; after it the rest, and the server, may start at once.
        created = {"main": run_cli(["zones", "create", ZONES["main"]], storage)}
        main_zone = str(created["main"]["id"])
        serve = Server(storage, Path(data_dir) / "serve.log")
        stack.callback(serve.stop)
        others = [key for key in ZONES if key != "main"]
        outputs = run_cli_many(
            [
                *(["zones", "create", ZONES[key]] for key in others),
                ["tokens", "create", "--scope", "write"],
                ["tokens", "create", "--scope", "read"],
                ["tokens", "create", "--scope", "write", "--zone", main_zone],
            ],
            storage,
        )
        created.update(zip(others, outputs, strict=False))
        zone_ids = {key: str(out["id"]) for key, out in created.items()}
        write, read, zone_limited = (str(out["token"]) for out in outputs[len(others) :])
        serve.wait_ready()
        server = ApiServer(
            backend=backend,
            origin=f"http://127.0.0.1:{serve.port}",
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


@pytest.fixture(scope="module")
def reader(api_server: ApiServer) -> Iterator[cloudflare.Cloudflare]:
    """A client holding a read-only token."""
    with api_server.client(api_server.read_token) as client:
        yield client


@pytest.fixture(scope="module")
def zone_writer(api_server: ApiServer) -> Iterator[cloudflare.Cloudflare]:
    """A client holding a write token limited to the example.com zone."""
    with api_server.client(api_server.zone_token) as client:
        yield client
