"""A raw ``asyncio.Protocol`` + httptools HTTP/1.1 front end for the gateway (no ASGI server).

The same :class:`~antechamber.gateway.app.Gateway` decides every request
(``Gateway.handle``); this front end only replaces uvicorn's per-request
machinery, which costs more than the gateway's own work on the admitted path
(stack.md A.2, docs/BENCHMARKS.md). Answers the gateway gives by itself are
written synchronously; forwarded requests stream through the upstream pool.
WebSocket upgrades are handed to uvicorn's WebSocket protocol running the
gateway's ASGI app (see :mod:`~antechamber.gateway.raw.upgrade`).

Example::

    gateway = create_gateway(...)
    server = await serve_gateway_raw(gateway, "127.0.0.1", 8080)
    await server.serve_forever()
"""

from __future__ import annotations

from antechamber.gateway.app import Gateway
from antechamber.gateway.raw.protocol import HttpProtocol, Limits
from antechamber.gateway.raw.server import RawServer, start_raw_server
from antechamber.gateway.raw.upgrade import websocket_upgrade

__all__ = ["HttpProtocol", "Limits", "RawServer", "serve_gateway_raw", "start_raw_server"]


async def serve_gateway_raw(
    gateway: Gateway, host: str = "127.0.0.1", port: int = 8080, *, limits: Limits | None = None
) -> RawServer:
    """Serve ``gateway`` on ``host:port`` with the raw server; returns once listening.

    Plain HTTP only (put TLS in front, or use the ASGI app under uvicorn/granian).
    Closing the returned server does not close the gateway's upstream pool.
    """
    return await start_raw_server(gateway.handle, host, port, limits=limits, upgrade=websocket_upgrade(gateway))
