"""``antechamber keys``: list, stage, use and rotate the cookie keys; a running node follows the key file."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from antechamber.cli import app
from antechamber.core.cookie import CookieCodec, KeyRing, cookie_name
from antechamber.core.ticket import Ticket
from antechamber.keystore import keys_path, load_or_create_keys, read_key_file
from tests.services import free_port, http_origin, stop_process, wait_for_port

runner = CliRunner()
HOST = "shop.example.com"
GREETING = "hello from the origin"
#: A hang guard for things promised within 2 s, never a timing assertion.
PATIENCE_S = 20.0


def keys(data: Path, *args: str) -> str:
    """Run ``antechamber keys ARGS --data-dir DATA`` in-process; fail on a non-zero exit; return stdout."""
    result = runner.invoke(app, ["keys", *args, "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    return result.stdout


def key_texts(data: Path) -> list[str]:
    """Every key in the file, as stored (base64) and as Python would print the bytes."""
    ring = read_key_file(data).ring
    return [text for key in ring.keys.values() for text in (base64.urlsafe_b64encode(key).decode()[:16], repr(key))]


def test_keys_help_lists_the_commands() -> None:
    """`keys --help` names list, stage, use and rotate."""
    result = runner.invoke(app, ["keys", "--help"])
    assert result.exit_code == 0
    for name in ("list", "stage", "use", "rotate"):
        assert name in result.output


def test_list_shows_ids_states_and_times_never_keys(tmp_path: Path) -> None:
    """`keys list` (text and --json) shows each key's id, state and creation time, and no key material."""
    load_or_create_keys(tmp_path)
    staged = int(keys(tmp_path, "stage"))
    text = keys(tmp_path, "list")
    rows = json.loads(keys(tmp_path, "list", "--json"))
    assert [(row["id"], row["state"]) for row in rows] == [(staged, "staged"), (1, "current")]
    assert all(isinstance(row["created"], str) and row["created"].endswith("Z") for row in rows)
    assert [line.split()[:2] for line in text.splitlines()] == [[str(staged), "staged"], ["1", "current"]]
    for secret in key_texts(tmp_path):
        assert secret not in text and secret not in json.dumps(rows)


def test_stage_then_use(tmp_path: Path) -> None:
    """`keys stage` adds a key without sealing with it; `keys use ID` makes it current and keeps the old one."""
    load_or_create_keys(tmp_path)
    staged = int(keys(tmp_path, "stage"))
    assert read_key_file(tmp_path).ring.current_id == 1
    assert keys(tmp_path, "use", str(staged)).strip() == f"sealing with key {staged}"
    ring = read_key_file(tmp_path).ring
    assert ring.current_id == staged and 1 in ring.keys
    states = {row["id"]: row["state"] for row in json.loads(keys(tmp_path, "list", "--json"))}
    assert states == {staged: "current", 1: "kept"}
    assert keys_path(tmp_path).stat().st_mode & 0o777 == 0o600


def test_rotate_makes_a_new_current_key_and_drops_the_oldest(tmp_path: Path) -> None:
    """`keys rotate` prints the new current key's id; after 4 rotations the first key is gone (3 kept)."""
    first = load_or_create_keys(tmp_path)
    ids = [int(keys(tmp_path, "rotate")) for _ in range(4)]
    ring = read_key_file(tmp_path).ring
    assert ring.current_id == ids[-1] and first.current_id not in ring.keys and len(ring.keys) == 4


@pytest.mark.parametrize("key_id", ["9", "x", "256"])
def test_use_of_an_unknown_id_exits_1(tmp_path: Path, key_id: str) -> None:
    """`keys use` with an id not in the file exits 1, says so, and changes nothing."""
    load_or_create_keys(tmp_path)
    before = keys_path(tmp_path).read_bytes()
    result = runner.invoke(app, ["keys", "use", key_id, "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert f"no cookie key with id {key_id}" in result.stderr.replace("'", "")
    assert keys_path(tmp_path).read_bytes() == before


@pytest.mark.parametrize("command", [["list"], ["list", "--json"], ["stage"], ["use", "1"], ["rotate"]])
def test_a_corrupt_key_file_exits_1_without_showing_it(tmp_path: Path, command: list[str]) -> None:
    """Every keys command refuses a malformed file with exit 1 and a message that does not quote it."""
    content = '{"current": 1, "keys": {"1": "c2VjcmV0"}}'
    keys_path(tmp_path).write_text(content)
    result = runner.invoke(app, ["keys", *command, "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "malformed" in result.stderr and "c2VjcmV0" not in result.output
    assert keys_path(tmp_path).read_text() == content


def test_list_without_a_key_file_exits_1(tmp_path: Path) -> None:
    """`keys list` on a data directory without keys exits 1 and creates nothing."""
    result = runner.invoke(app, ["keys", "list", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "no cookie key file" in result.stderr
    assert not keys_path(tmp_path).exists()


# A running node ------------------------------------------------------------------------------------


@dataclass
class Node:
    """A running ``antechamber serve`` with one full room (limits 1) on ``HOST``."""

    data: Path
    gateway: str
    room_id: str
    log: Path

    def get(self, cookie: str | None = None) -> httpx.Response:
        """A request to the room, with the given room cookie value or none."""
        headers = {"host": HOST}
        if cookie is not None:
            headers["cookie"] = f"{cookie_name()}={cookie}"
        return httpx.get(self.gateway + "/", headers=headers, timeout=10)

    def passes(self, cookie: str) -> bool:
        return self.get(cookie).text == GREETING

    def sealing_key(self) -> int:
        """The key id in the room cookie the gateway gives a new visitor."""
        value = self.get().cookies[cookie_name()]
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))[0]

    def forged_session(self, ring: KeyRing) -> str:
        """An admitted visitor's cookie for the room, sealed with ``ring``'s current key."""
        now = int(time.time() * 1000)
        ticket = Ticket(arrival_ms=now, position_s=now // 1000, rank=0, accepted_ms=now, expires_ms=now + 10 * 60_000)
        return CookieCodec(ring).seal(ticket, room_id=self.room_id, name=cookie_name())

    def wait_for(self, what: str, check: Callable[[], bool]) -> None:
        """Poll ``check`` until it holds (the hang guard fails the test after PATIENCE_S)."""
        deadline = time.monotonic() + PATIENCE_S
        while not check():
            assert time.monotonic() < deadline, f"the node never {what}"
            time.sleep(0.2)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    """``serve`` (a real process) in front of a real origin, with a room whose one place is taken."""
    data = tmp_path / "data"
    cli = ["--data-dir", str(data)]
    zone_id = json.loads(runner.invoke(app, ["zones", "create", "example.com", *cli, "--json"]).stdout)["id"]
    token = json.loads(runner.invoke(app, ["tokens", "create", "--scope", "write", *cli, "--json"]).stdout)["token"]
    api_port, gateway_port = free_port(), free_port()
    log = tmp_path / "serve.log"
    with http_origin() as origin, open(log, "wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-c", "from antechamber.cli import main; main()", "serve", *cli]
            + ["--api", f"127.0.0.1:{api_port}", "--gateway", f"127.0.0.1:{gateway_port}"]
            + ["--origin", origin, "--min-user-limit", "1"],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port("127.0.0.1", api_port, timeout=60)
            wait_for_port("127.0.0.1", gateway_port, timeout=60)
            created = httpx.post(
                f"http://127.0.0.1:{api_port}/client/v4/zones/{zone_id}/waiting_rooms",
                headers={"authorization": f"Bearer {token}"},
                json={"name": "shop", "host": HOST, "new_users_per_minute": 1, "total_active_users": 1},
                timeout=10,
            )
            assert created.status_code == 200, created.text
            node = Node(data, f"http://127.0.0.1:{gateway_port}", created.json()["result"]["id"], log)
            yield node
        finally:
            stop_process(process)
            assert "Traceback" not in log.read_text(errors="replace")


def test_a_running_node_follows_the_key_file(node: Node) -> None:
    """Staged, used and dropped keys are in force in a running serve within seconds, without a restart."""
    # The first visitor takes the room's one place; the gateway seals with key 1.
    first: str | None = None

    def admitted() -> bool:
        nonlocal first
        response = node.get()
        first = response.cookies.get(cookie_name()) if response.text == GREETING else None
        return first is not None

    node.wait_for("enforced the room", admitted)
    assert first is not None and node.sealing_key() == 1  # and the next visitor is held
    assert not node.get().text == GREETING

    # A key the node has never seen opens to nothing: that visitor is held like a new one.
    stranger = node.forged_session(KeyRing(current_id=2, keys={2: bytes(32)}))
    assert not node.passes(stranger)

    # Staged: the node opens cookies sealed with the new key, and still seals with key 1.
    staged = int(keys(node.data, "stage"))
    with_staged = node.forged_session(KeyRing(current_id=staged, keys=read_key_file(node.data).ring.keys))
    node.wait_for("opened a cookie sealed with the staged key", lambda: node.passes(with_staged))
    assert node.sealing_key() == 1 and node.passes(first)

    # Used: new cookies carry the new key; cookies sealed with the old one still open.
    keys(node.data, "use", str(staged))
    node.wait_for("sealed with the key it was told to use", lambda: node.sealing_key() == staged)
    assert node.passes(first) and node.passes(with_staged)

    # Three rotations later key 1 is dropped: the first visitor's cookie, opened (and cached) before, is refused.
    for _ in range(3):
        current = int(keys(node.data, "rotate"))
    assert 1 not in read_key_file(node.data).ring.keys
    node.wait_for("sealed with the rotated key", lambda: node.sealing_key() == current)
    assert not node.passes(first)
    assert node.passes(with_staged)

    # A corrupt file (a copy cut short) is logged and ignored: every key in use still works.
    secrets_before = key_texts(node.data)
    keys_path(node.data).write_text('{"current": 1, "keys": {"1": "' + secrets_before[0])
    node.wait_for("logged the corrupt file", lambda: "cookie key file not reloaded" in node.log.read_text())
    assert node.passes(with_staged) and node.sealing_key() == current
    output = node.log.read_text()
    assert all(secret not in output for secret in secrets_before)
