"""Start and stop the raw HTTP/1.1 server for a gateway."""

from __future__ import annotations

import asyncio
import socket

from antechamber.gateway.raw.protocol import Handler, HttpProtocol, Limits
from antechamber.gateway.raw.upgrade import Upgrade


class RawServer:
    """A listening raw server; ``await aclose()`` stops it."""

    __slots__ = ("_connections", "_reaper", "_server", "_tick")

    def __init__(self, server: asyncio.Server, connections: set[HttpProtocol], limits: Limits) -> None:
        self._server = server
        self._connections = connections
        # Deadlines are checked a few times per shortest timeout (at most once a second).
        self._tick = min(1.0, max(0.01, min(limits.head_timeout, limits.body_timeout, limits.keep_alive_timeout) / 4))
        self._reaper: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(self._tick, self._reap)

    def _reap(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        for connection in list(self._connections):
            connection.check_deadline(now)
        self._reaper = loop.call_later(self._tick, self._reap)

    @property
    def port(self) -> int:
        """The port of the first listening socket (useful with ``port=0``)."""
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return tuple(self._server.sockets)

    async def serve_forever(self) -> None:
        await self._server.serve_forever()

    async def aclose(self, grace: float = 5.0) -> None:
        """Stop listening, close idle connections, give busy ones ``grace`` seconds to finish."""
        self._server.close()
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        for connection in list(self._connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while self._connections and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for connection in list(self._connections):
            connection.close()
        await self._server.wait_closed()


async def start_raw_server(
    handler: Handler,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    limits: Limits | None = None,
    sock: socket.socket | None = None,
    backlog: int = 2048,
    upgrade: Upgrade | None = None,
) -> RawServer:
    """Listen on ``host:port`` (or ``sock``) and serve requests with ``handler``.

    ``handler`` is ``Gateway.handle`` (see :func:`serve_gateway_raw`), or any callable
    with the same shape; ``upgrade`` serves WebSocket upgrades (None: refused with 501).
    """
    limits = limits or Limits()
    connections: set[HttpProtocol] = set()
    loop = asyncio.get_running_loop()

    def factory() -> HttpProtocol:
        return HttpProtocol(handler, limits, connections, upgrade)

    if sock is not None:
        server = await loop.create_server(factory, sock=sock, backlog=backlog)
    else:
        server = await loop.create_server(factory, host, port, backlog=backlog)
    return RawServer(server, connections, limits)
