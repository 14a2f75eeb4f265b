"""The upstream seam: how the gateway talks to the origin, whatever client does the I/O.

The gateway depends only on the names here. :class:`~antechamber.gateway.upstream.pool.UpstreamPool`
is the production implementation (asyncio ``Protocol`` + httptools, pooled HTTP/1.1) and
:class:`~antechamber.gateway.upstream.mock.MockUpstream` the I/O-free one for tests, after
httpx's ``AsyncBaseTransport``/``MockTransport`` split.

Exceptions form one tree, so the gateway can map them to error pages::

    UpstreamError                 any failure to get a response from the origin (502)
    ├── UpstreamConnectError      TCP connect or TLS handshake failed (refused, unreachable, bad cert)
    ├── UpstreamTimeout           a phase ran out of time (504); ``.phase`` says which:
    │                             "pool", "connect", "read" (first byte), "idle" (body stall), "write"
    └── UpstreamProtocolError     the origin broke HTTP/1.1, or closed the connection mid-response

Errors raised by the *request* body iterator (the visitor went away) are not wrapped: they
are the client side's, and the gateway handles them as such.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit

Headers = list[tuple[bytes, bytes]]
RequestBody = AsyncIterator[bytes] | bytes | None
TimeoutPhase = Literal["pool", "connect", "read", "idle", "write"]

__all__ = [
    "Headers",
    "Limits",
    "Origin",
    "RequestBody",
    "Timeouts",
    "Upgraded",
    "Upstream",
    "UpstreamConnectError",
    "UpstreamError",
    "UpstreamProtocolError",
    "UpstreamResponse",
    "UpstreamTimeout",
]


class UpstreamError(Exception):
    """The origin could not be reached, or did not answer properly."""


class UpstreamConnectError(UpstreamError):
    """Opening the connection (TCP, then TLS) failed."""


class UpstreamTimeout(UpstreamError):
    """One phase of the exchange exceeded its timeout; ``phase`` names it."""

    def __init__(self, phase: TimeoutPhase, seconds: float) -> None:
        super().__init__(f"upstream {phase} timeout after {seconds:g}s")
        self.phase: TimeoutPhase = phase
        self.seconds = seconds


class UpstreamProtocolError(UpstreamError):
    """The origin sent something that is not valid HTTP/1.1, or hung up mid-message."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where to send requests: scheme, host and port, plus the TLS name to verify.

    ``Origin.parse("https://shop.example:8443")`` is the usual way to build one.
    ``server_hostname`` defaults to ``host``; set it when connecting by IP to a named
    certificate. Origins are hashable and act as the pool key.
    """

    scheme: Literal["http", "https"]
    host: str
    port: int
    server_hostname: str | None = None
    #: The ``Host`` header sent when the caller passes none (port omitted when default).
    host_header: bytes = field(init=False, repr=False, compare=False)
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.scheme not in ("http", "https"):
            raise ValueError(f"unsupported origin scheme {self.scheme!r}")
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        value = name if self.port == default else f"{name}:{self.port}"
        object.__setattr__(self, "host_header", value.encode("ascii"))
        object.__setattr__(self, "_hash", hash((self.scheme, self.host, self.port, self.server_hostname)))

    def __hash__(self) -> int:
        return self._hash  # looked up on every request (the pool key): computed once

    @property
    def tls(self) -> bool:
        """Whether connections to this origin use TLS."""
        return self.scheme == "https"

    @classmethod
    def parse(cls, url: str, *, server_hostname: str | None = None) -> Origin:
        """Build an origin from ``http[s]://host[:port]``; any path is ignored."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"origin must be http(s)://host[:port], got {url!r}")
        port = parts.port or (443 if scheme == "https" else 80)
        return cls(scheme, parts.hostname, port, server_hostname)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Per-phase time limits in seconds; ``None`` disables one.

    ``pool`` waits for a free connection under the per-origin cap; ``connect`` covers TCP and
    the TLS handshake; ``read`` runs from the end of the request head to the first byte of
    the response; ``idle`` is the longest stall between two body chunks in either direction
    (``write`` stalls count against it too, reported with phase ``"write"``). The read
    timeout is enforced by a shared sweeper and may fire up to ``min(0.1, read / 4)`` s late.

    Example: ``Timeouts(connect=2.0, read=30.0, idle=60.0)``.
    """

    pool: float | None = 5.0
    connect: float | None = 5.0
    read: float | None = 30.0
    idle: float | None = 30.0


@dataclass(frozen=True, slots=True)
class Limits:
    """Connection limits, per origin.

    ``keepalive_expiry`` is how long an idle pooled connection is trusted; it sits below
    uvicorn's 5 s keep-alive default so we rarely race an origin that is closing it.
    """

    max_connections: int = 256
    max_idle: int = 256
    keepalive_expiry: float = 4.0
    #: Pause reading from the origin when this many response bytes wait for the consumer.
    high_water: int = 65536
    #: Cap on a response head that is still incomplete; checked per socket read, so a head that
    #: arrives whole in one read (at most one read buffer, 64-256 KiB) is not measured.
    max_header_bytes: int = 65536


class UpstreamResponse(Protocol):
    """A response head, with the body still streaming from the origin.

    ``headers`` are the raw bytes received (case kept), minus hop-by-hop headers. The body
    must be consumed with :meth:`aiter_bytes` (or :meth:`read`) and the response closed with
    :meth:`aclose` in every case, which returns the connection to the pool or drops it.
    """

    status: int
    reason: bytes
    headers: Headers
    http_version: str

    def aiter_bytes(self) -> AsyncIterator[bytes]:
        """Yield the de-chunked body as it arrives; raises :class:`UpstreamError` on failure."""
        ...

    async def read(self) -> bytes:
        """Read the whole remaining body into memory (for small bodies only)."""
        ...

    async def aclose(self) -> None:
        """Release the connection: to the pool if the exchange finished cleanly, else close it."""
        ...


@dataclass(slots=True)
class Upgraded:
    """The outcome of :meth:`Upstream.upgrade`.

    When ``response.status == 101`` the connection now belongs to the caller as ``reader`` and
    ``writer`` (bytes the origin sent right after the 101 head are already in ``reader``);
    the caller closes ``writer`` when done. Otherwise ``reader``/``writer`` are ``None``
    and ``response`` is an ordinary response to relay and close.
    """

    response: UpstreamResponse
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None


@runtime_checkable
class Upstream(Protocol):
    """Sends one request to an origin and returns the streaming response."""

    async def request(
        self,
        method: str,
        target: str,
        headers: Headers,
        body: RequestBody,
        *,
        origin: Origin,
    ) -> UpstreamResponse:
        """Send ``method target`` with ``headers`` and ``body``; return once the head arrived.

        ``target`` is the request-target as sent (path and query, already encoded).
        ``body`` may be ``bytes`` (sent with Content-Length), ``None`` (no body) or an async
        iterator (streamed; chunked unless ``headers`` carry a Content-Length). A ``Host``
        header is added from ``origin`` when ``headers`` have none.
        """
        ...

    async def upgrade(self, method: str, target: str, headers: Headers, *, origin: Origin) -> Upgraded:
        """Send an Upgrade request (e.g. WebSocket) and hand over the connection on 101."""
        ...

    async def aclose(self) -> None:
        """Close every pooled connection."""
        ...
