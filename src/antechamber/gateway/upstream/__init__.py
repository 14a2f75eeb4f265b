"""The gateway's client for the origin: the ``Upstream`` seam and its implementations.

``UpstreamPool`` is the production client; ``MockUpstream`` answers from a handler without
I/O. There is no aiohttp implementation: aiohttp is not a project dependency.
"""

from __future__ import annotations

from antechamber.gateway.upstream.base import (
    Headers,
    Limits,
    Origin,
    RequestBody,
    Timeouts,
    Upgraded,
    Upstream,
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamResponse,
    UpstreamTimeout,
)
from antechamber.gateway.upstream.headers import proxy_request_headers, strip_hop_by_hop
from antechamber.gateway.upstream.mock import MockRequest, MockResponse, MockUpstream
from antechamber.gateway.upstream.pool import UpstreamPool

__all__ = [
    "Headers",
    "Limits",
    "MockRequest",
    "MockResponse",
    "MockUpstream",
    "Origin",
    "RequestBody",
    "Timeouts",
    "Upgraded",
    "Upstream",
    "UpstreamConnectError",
    "UpstreamError",
    "UpstreamPool",
    "UpstreamProtocolError",
    "UpstreamResponse",
    "UpstreamTimeout",
    "proxy_request_headers",
    "strip_hop_by_hop",
]
