"""The CLI contract: zones, tokens, serve, --help, settings from flags and environment."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cloudflare
import pytest
from typer.testing import CliRunner

from antechamber.cli import app
from antechamber.db.accounts import DEFAULT_ACCOUNT_ID
from tests.services import free_port, wait_for_port

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None) -> str:
    """Run the CLI in-process; return stdout, failing the test on a non-zero exit."""
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_args(request: pytest.FixtureRequest, tmp_path: Path) -> list[str]:
    """CLI flags selecting a fresh store: a data dir, or a PostgreSQL URL."""
    if request.param == "sqlite":
        return ["--data-dir", str(tmp_path / "data")]
    return ["--data-dir", str(tmp_path / "data"), "--database-url", request.getfixturevalue("postgres_url")]


class TestZones:
    def test_create_prints_id(self, store_args: list[str]) -> None:
        """zones create --json prints the new zone's 32-hex id."""
        out = json.loads(run("zones", "create", "example.com", *store_args, "--json"))
        assert len(out["id"]) == 32 and int(out["id"], 16) >= 0
        assert out["account_id"] == DEFAULT_ACCOUNT_ID
        listed = json.loads(run("zones", "list", *store_args, "--json"))
        assert [zone["id"] for zone in listed] == [out["id"]]

    def test_duplicate_and_invalid_names_fail(self, store_args: list[str]) -> None:
        """A zone name already taken, or not a domain, exits 1 with a message."""
        run("zones", "create", "example.com", *store_args)
        for name in ("Example.COM", "not a domain"):
            result = runner.invoke(app, ["zones", "create", name, *store_args])
            assert result.exit_code == 1
            assert "error:" in result.output


class TestTokens:
    def test_create_list_revoke(self, store_args: list[str]) -> None:
        """tokens create prints a token once; list shows it without the secret; revoke marks it."""
        created = json.loads(run("tokens", "create", "--scope", "read", *store_args, "--json"))
        listed = json.loads(run("tokens", "list", *store_args, "--json"))
        assert [(t["id"], t["scope"], t["revoked_on"]) for t in listed] == [(created["id"], "read", None)]
        assert created["token"] not in json.dumps(listed)
        run("tokens", "revoke", created["id"], *store_args)
        assert json.loads(run("tokens", "list", *store_args, "--json"))[0]["revoked_on"] is not None

    def test_zone_limits(self, store_args: list[str]) -> None:
        """--zone is repeatable and must name existing zones."""
        first = json.loads(run("zones", "create", "a.com", *store_args, "--json"))["id"]
        second = json.loads(run("zones", "create", "b.com", *store_args, "--json"))["id"]
        created = json.loads(run("tokens", "create", "--zone", first, "--zone", second, *store_args, "--json"))
        assert created["zones"] == [first, second]
        result = runner.invoke(app, ["tokens", "create", "--zone", "f" * 32, *store_args])
        assert result.exit_code == 1

    def test_bad_scope(self, tmp_path: Path) -> None:
        """Only read and write are scopes."""
        result = runner.invoke(app, ["tokens", "create", "--scope", "admin", "--data-dir", str(tmp_path)])
        assert result.exit_code == 1


def test_data_dir_from_environment_and_permissions(tmp_path: Path) -> None:
    """ANTECHAMBER_DATA_DIR picks the data dir, made 0700 with the store file 0600."""
    data_dir = tmp_path / "from-env"
    run("zones", "create", "example.com", env={"ANTECHAMBER_DATA_DIR": str(data_dir)})
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "antechamber.db").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "command", [[], ["serve"], ["zones", "create"], ["zones", "list"], ["tokens", "create"], ["tokens", "list"]]
)
def test_help(command: list[str]) -> None:
    """Every command answers --help."""
    out = run(*command, "--help")
    assert "Usage" in out
    assert "--data-dir" in out or not command or command == ["zones"]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """`antechamber serve` running on a free port; yields (base_url, zone_id, token)."""
    data = ["--data-dir", str(tmp_path / "data")]
    zone_id = json.loads(run("zones", "create", "example.com", *data, "--json"))["id"]
    token = json.loads(run("tokens", "create", "--scope", "write", *data, "--json"))["token"]
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from antechamber.cli import main; main()",
            "serve",
            *data,
            "--api",
            f"127.0.0.1:{port}",
            # serve also starts the gateway (default 127.0.0.1:8000, which may be taken).
            "--gateway",
            f"127.0.0.1:{free_port()}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port("127.0.0.1", port)
        yield f"http://127.0.0.1:{port}/client/v4", zone_id, token
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
        assert token.encode() not in output  # the token never reaches the log


def test_serve_with_the_cloudflare_sdk(served: tuple[str, str, str]) -> None:
    """The official SDK drives a served Antechamber: create, list, edit and delete a room."""
    base_url, zone_id, token = served
    client = cloudflare.Cloudflare(api_token=token, base_url=base_url)
    room = client.waiting_rooms.create(
        zone_id=zone_id, host="shop.example.com", name="shop", new_users_per_minute=200, total_active_users=300
    )
    assert room is not None and room.id is not None
    assert [r.id for r in client.waiting_rooms.list(zone_id=zone_id)] == [room.id]
    edited = client.waiting_rooms.edit(
        room.id, zone_id=zone_id, host="shop.example.com", name="shop", new_users_per_minute=250, total_active_users=300
    )
    assert edited is not None and edited.new_users_per_minute == 250
    with pytest.raises(cloudflare.BadRequestError):
        client.waiting_rooms.create(
            zone_id=zone_id, host="shop.example.com", name="again", new_users_per_minute=200, total_active_users=300
        )
    client.waiting_rooms.delete(room.id, zone_id=zone_id)
    with pytest.raises(cloudflare.NotFoundError):
        client.waiting_rooms.get(room.id, zone_id=zone_id)
