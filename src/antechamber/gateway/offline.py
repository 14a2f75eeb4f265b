"""A gateway on in-process parts (memory state, a canned origin) and the ASGI scopes that drive it.

For the tests and benchmarks that call ``Gateway.handle`` directly, with no server and
no socket: one place assembles it, so what a test pins and what a benchmark times are
the same gateway.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from random import Random
from typing import Any

from antechamber.core.cookie import CookieCodec
from antechamber.gateway.admission import Clock
from antechamber.gateway.app import Forward, Gateway, create_gateway
from antechamber.gateway.config import GatewayConfig, RoomEntry, StaticConfig
from antechamber.gateway.pages import Reply
from antechamber.gateway.upstream import MockResponse, MockUpstream, Upstream
from antechamber.state.base import RoomState
from antechamber.state.memory import MemoryState

# A canned origin's address; nothing is ever sent there (the upstream is a MockUpstream).
OFFLINE_ORIGIN = "http://origin.test"


def asgi_scope(
    host: str,
    path: str = "/",
    *,
    method: str = "GET",
    cookie: str | None = None,
    headers: Iterable[tuple[bytes, bytes]] = (),
    client: tuple[str, int] = ("203.0.113.9", 5000),
) -> dict[str, Any]:
    """An HTTP request's ASGI scope as a server hands it over: ``host`` first, then ``headers``, then the cookie."""
    raw = [(b"host", host.encode()), *headers]
    if cookie:
        raw.append((b"cookie", cookie.encode()))
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": raw,
        "scheme": "http",
        "client": client,
        "server": ("127.0.0.1", 80),
    }


def offline_gateway(
    rooms: Sequence[RoomEntry],
    codec: CookieCodec,
    *,
    clock: Clock,
    upstream: Upstream | None = None,
    state: RoomState | None = None,
    rng: Random | None = None,
    **options: Any,
) -> Gateway:
    """A gateway for ``rooms`` on a fresh memory state; the origin answers 200 "ok" unless ``upstream`` is given."""
    return create_gateway(
        StaticConfig(GatewayConfig(list(rooms))),
        state if state is not None else MemoryState(),
        codec,
        upstream if upstream is not None else MockUpstream(lambda request: MockResponse(200, [], b"ok")),
        default_origin=OFFLINE_ORIGIN,
        clock=clock,
        rng=rng,
        **options,
    )


def room_cookie(action: object) -> str:
    """The ``name=value`` of the first cookie a decided answer sets (a new visitor's ticket)."""
    if isinstance(action, Forward):
        values = list(action.cookies)
    elif isinstance(action, Reply):
        values = [value for name, value in action.headers if name == b"set-cookie"]
    else:
        raise TypeError(f"not a decided answer: {action!r}")
    return bytes(values[0]).decode().split(";")[0]
