"""WebSocket upgrades on the raw server, handed to uvicorn's WebSocket protocol.

The raw server has no WebSocket implementation of its own: when a request asks
for one, the connection is given, with the request head replayed, to uvicorn's
WebSocket protocol running the gateway's ASGI app, so the WebSocket bridge
(admission, cookies, refusals) is exactly the ASGI path's. This is what
uvicorn's own HTTP protocol does on an upgrade.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

#: Takes the transport and the bytes to replay (the request head and anything after it).
Upgrade = Callable[[asyncio.Transport, bytes], None]


def websocket_upgrade(app: Any) -> Upgrade:
    """An :data:`Upgrade` serving WebSocket connections with the ASGI ``app`` (uvicorn's protocol)."""
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    # proxy_headers off: the gateway applies its own trusted-proxy list (as under uvicorn).
    config = Config(app, lifespan="off", log_config=None, access_log=False, proxy_headers=False, ws="auto")
    config.load()
    state = ServerState()
    protocol_class: Any = config.ws_protocol_class
    if protocol_class is None:  # pragma: no cover - websockets is a dependency
        raise RuntimeError("no WebSocket implementation installed")

    def upgrade(transport: asyncio.Transport, replay: bytes) -> None:
        protocol = protocol_class(config=config, server_state=state, app_state={})
        protocol.connection_made(transport)
        protocol.data_received(replay)
        transport.set_protocol(protocol)

    return upgrade


def request_head(method: str, target: bytes, headers: Sequence[tuple[bytes, bytes]]) -> bytes:
    """The request head again, as bytes (to replay to the WebSocket protocol)."""
    parts = [method.encode("ascii"), b" ", target, b" HTTP/1.1\r\n"]
    for name, value in headers:
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)
