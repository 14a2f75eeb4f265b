"""Bytes on the wire for the raw server: status lines, the Date header, whole replies.

Everything constant is built once at import; a reply the gateway answers by itself
(forward auth, queue pages) becomes a single ``transport.write``.
"""

from __future__ import annotations

import time
from email.utils import formatdate
from http import HTTPStatus

from antechamber.gateway.pages import Reply

_STATUS_LINES = {status.value: f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode() for status in HTTPStatus}
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
CLOSE = b"connection: close\r\n"
CHUNKED = b"transfer-encoding: chunked\r\n"
LAST_CHUNK = b"0\r\n\r\n"


def status_line(status: int) -> bytes:
    """``HTTP/1.1 <code> <reason>\\r\\n`` (codes outside the registry get an empty reason)."""
    line = _STATUS_LINES.get(status)
    return line if line is not None else b"HTTP/1.1 %d \r\n" % status


class DateHeader:
    """The ``Date`` header line, formatted at most once a second (HTTP dates have no finer unit)."""

    __slots__ = ("_line", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._line = b""

    def __call__(self) -> bytes:
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._line = b"date: " + formatdate(second, usegmt=True).encode() + b"\r\n"
        return self._line


date_header = DateHeader()


def reply_bytes(reply: Reply, *, head: bool, keep_alive: bool) -> bytes:
    """A complete response with ``Content-Length`` (the body left out for ``HEAD``)."""
    body = reply.body
    parts = [status_line(reply.status), date_header()]
    for name, value in reply.headers:
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"content-length: %d\r\n" % len(body))
    if not keep_alive:
        parts.append(CLOSE)
    parts.append(b"\r\n")
    if not head:
        parts.append(body)
    return b"".join(parts)


def error_bytes(status: int, message: str) -> bytes:
    """A plain-text error that ends the connection (bad requests, limits, timeouts)."""
    body = message.encode() + b"\n"
    return b"".join(
        (
            status_line(status),
            date_header(),
            b"content-type: text/plain; charset=utf-8\r\ncache-control: no-store\r\n",
            b"content-length: %d\r\n" % len(body),
            CLOSE,
            b"\r\n",
            body,
        )
    )
