"""Run the demo: ``antechamber serve`` plus the demo shop as its origin, and the demo room.

Everything shares one process and one event loop: the API, the gateway and the
shop are three uvicorn listeners (see :func:`antechamber.server.serve_listeners`).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from antechamber.demo.origin import DemoShop
from antechamber.demo.setup import DemoSetup, ensure_demo
from antechamber.server import Listener, bind_all, running_stack, serve_listeners
from antechamber.settings import Settings, parse_bind

DEFAULT_SHOP_BIND = "127.0.0.1:8001"


async def run_demo(settings: Settings, shop_bind: str = DEFAULT_SHOP_BIND, out: Callable[[str], None] = print) -> None:
    """Serve the demo until interrupted; ``settings.origin`` must point at ``shop_bind``.

    The banner (with the API token on the start that created it) goes to ``out``,
    never to the log.
    """
    sockets = bind_all([settings.api, settings.gateway, shop_bind])
    async with running_stack(settings) as stack:
        setup = await ensure_demo(stack.database, settings.data_dir)
        await stack.follower.refresh()  # the demo room is in force before the first visitor
        listeners = [*stack.listeners(settings), Listener("shop", DemoShop(), shop_bind, {"lifespan": "off"})]

        def started() -> None:
            for line in banner(settings, shop_bind, setup):
                out(line)

        await serve_listeners(listeners, log_level=settings.log_level, on_started=started, bound=sockets)


def banner(settings: Settings, shop_bind: str, setup: DemoSetup) -> list[str]:
    """What to open and what to run, printed once the demo listens."""
    _host, gateway_port = parse_bind(settings.gateway)
    room_url = f"http://localhost:{gateway_port}/"
    api_url = f"http://{settings.api}/client/v4"
    status_url = f"{api_url}/zones/{setup.zone_id}/waiting_rooms/{setup.room_id}/status"
    if setup.token is not None:
        token_line = f"  token   {setup.token}   (shown this once; also in {setup.token_path}, mode 0600)"
    else:
        token_line = f"  token   in {setup.token_path}"
    surge = f"{own_command()} surge" + ("" if gateway_port == 8000 else f" --url {room_url}")
    return [
        "",
        "Antechamber demo",
        f"  Open    {room_url}   the shop, behind the waiting room 'demo' (5 active users, 5 new a minute)",
        f"  Shop    http://{shop_bind}/   the origin itself, without the waiting room",
        f"  API     {api_url}   zone localhost {setup.zone_id}, room {setup.room_id}",
        token_line,
        f'  Status  curl -H "Authorization: Bearer $(cat {setup.token_path})" {status_url}',
        f"  Surge   run `{surge}` in another terminal to fill the room, and watch the queue move in the browser",
        "Ctrl-C stops the demo.",
        "",
    ]


def own_command() -> str:
    """How to run this same ``antechamber`` from the current directory (``./scripts/demo`` does not put it on PATH)."""
    program = Path(sys.argv[0])
    if program.name != "antechamber":
        return f"{sys.executable} -m antechamber.cli"
    found = shutil.which("antechamber")
    if found is not None and Path(found).resolve() == program.resolve():
        return "antechamber"
    relative = os.path.relpath(program.resolve())
    return relative if not relative.startswith("..") else str(program.resolve())
