"""``antechamber demo``: the shop behind a tiny room, the queue past its limit, and the printed token."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.services import free_port, stop_process, wait_for_port

#: A hang guard for output that should appear within a second or two, never a timing assertion.
PATIENCE_S = 30.0


@dataclass
class Demo:
    """A running ``antechamber demo`` on free ports."""

    process: subprocess.Popen[bytes]
    data_dir: Path
    api: str
    gateway_port: int
    shop: str
    out: Path
    err: Path

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def banner(self) -> str:
        """What the demo printed, once it has printed its last banner line."""
        deadline = time.monotonic() + PATIENCE_S
        while "Ctrl-C stops the demo." not in (text := self.out.read_text(errors="replace")):
            assert self.process.poll() is None, f"the demo exited:\n{text}\n{self.err.read_text(errors='replace')}"
            assert time.monotonic() < deadline, f"no banner:\n{text}"
            time.sleep(0.05)
        return text

    def visitor(self) -> httpx.Client:
        """A browser-like visitor with its own cookie jar, asking for http://localhost:<gateway port>/."""
        return httpx.Client(base_url=self.gateway, headers={"host": f"localhost:{self.gateway_port}"}, timeout=10)


def stop(process: subprocess.Popen[bytes]) -> int:
    """Ctrl-C the process and wait for it (killing it if it hangs); returns its exit status."""
    return stop_process(process, signal.SIGINT)


@contextlib.contextmanager
def running_demo(data_dir: Path, *extra: str) -> Iterator[Demo]:
    """Start ``antechamber demo`` on free loopback ports; always stopped on exit."""
    api, gateway, shop = free_port(), free_port(), free_port()
    out, err = data_dir.parent / f"{data_dir.name}.out", data_dir.parent / f"{data_dir.name}.err"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from antechamber.cli import main; main()",
                "demo",
                "--data-dir",
                str(data_dir),
                "--api",
                f"127.0.0.1:{api}",
                "--gateway",
                f"127.0.0.1:{gateway}",
                "--shop",
                f"127.0.0.1:{shop}",
                *extra,
            ],
            stdout=stdout,
            stderr=stderr,
        )
    try:
        for port in (api, gateway, shop):
            wait_for_port("127.0.0.1", port, timeout=60)
        demo = Demo(
            process, data_dir, f"http://127.0.0.1:{api}/client/v4", gateway, f"http://127.0.0.1:{shop}", out, err
        )
        demo.banner()
        yield demo
    finally:
        stop(process)


def printed_token(banner: str) -> str:
    """The token from the banner's ``token`` line."""
    found = re.search(r"^\s+token\s+(\S+)\s+\(shown this once", banner, re.MULTILINE)
    assert found, banner
    return found.group(1)


def printed_ids(banner: str) -> tuple[str, str]:
    """The (zone id, room id) from the banner's ``API`` line."""
    found = re.search(r"zone localhost ([0-9a-f]{32}), room ([0-9a-f]{32})", banner)
    assert found, banner
    return found.group(1), found.group(2)


def test_demo_end_to_end(tmp_path: Path) -> None:
    """The first visitor gets the shop, later ones queue (Refresh: 1-20 s), and the printed token drives the API."""
    with running_demo(tmp_path / "data") as demo:
        banner = demo.banner()
        assert f"http://localhost:{demo.gateway_port}/" in banner
        token = printed_token(banner)
        token_file = demo.data_dir / "demo-token"
        assert token_file.read_text().strip() == token
        assert token_file.stat().st_mode & 0o777 == 0o600

        with demo.visitor() as first:
            page = first.get("/")
            assert page.status_code == 200
            assert "You got in" in page.text
            assert "__cfwaitingroom" in page.headers["set-cookie"]
            assert "You got in" in first.get("/cart").text  # the session carries on

        # The room takes 5 at a time; some visitor past that limit must be queued.
        queued = None
        for _ in range(12):
            with demo.visitor() as later:
                response = later.get("/")
                if "refresh" in response.headers:
                    queued = response
                    break
        assert queued is not None, "no visitor was ever queued"
        # 20 s, or the time to the user's turn when that is sooner (the first in line: a second).
        assert 1 <= int(queued.headers["refresh"]) <= 20
        assert "You got in" not in queued.text

        api = httpx.Client(base_url=demo.api, headers={"authorization": f"Bearer {token}"}, timeout=10)
        with api:
            zone_id, room_id = printed_ids(banner)
            rooms = api.get(f"/zones/{zone_id}/waiting_rooms").json()["result"]
            assert [(r["id"], r["name"], r["host"], r["total_active_users"]) for r in rooms] == [
                (room_id, "demo", "localhost", 5)
            ]
            status = api.get(f"/zones/{zone_id}/waiting_rooms/{room_id}/status").json()["result"]
            assert status["status"] == "queueing"
            assert status["estimated_total_active_users"] > 0 and status["estimated_queued_users"] > 0
            # The lowered minimum lets the operator change the tiny room through the API.
            edited = api.patch(f"/zones/{zone_id}/waiting_rooms/{room_id}", json={"total_active_users": 7})
            assert edited.status_code == 200, edited.text

        with httpx.Client(base_url=demo.shop, timeout=10) as direct:
            assert "directly, not through the waiting room" in direct.get("/").text
        returncode = stop(demo.process)
    assert returncode == 0
    assert token not in demo.err.read_text(errors="replace")  # the token is printed, never logged


def test_second_start_keeps_the_room_and_the_token(tmp_path: Path) -> None:
    """A restart on the same data directory reuses the room and token, and does not print the token again."""
    data = tmp_path / "data"
    with running_demo(data) as first:
        token = printed_token(first.banner())
        ids = printed_ids(first.banner())
    with running_demo(data) as second:
        banner = second.banner()
        assert token not in banner
        assert f"token   in {data / 'demo-token'}" in banner
        assert printed_ids(banner) == ids
        with httpx.Client(base_url=second.api, headers={"authorization": f"Bearer {token}"}, timeout=10) as api:
            rooms = api.get(f"/zones/{ids[0]}/waiting_rooms").json()["result"]
            assert [room["id"] for room in rooms] == [ids[1]]
