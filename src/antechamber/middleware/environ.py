"""A WSGI environ (or Django's ``request.META``) as the ASGI scope the request path reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_BODY_HEADERS = {"CONTENT_TYPE": b"content-type", "CONTENT_LENGTH": b"content-length"}


def scope_from_environ(
    environ: Mapping[str, Any], *, path: str | None = None, scheme: str | None = None
) -> dict[str, Any]:
    """The scope keys :class:`~antechamber.gateway.request_path.RequestPath` reads, from CGI-style variables.

    WSGI strings carry the request's bytes as latin-1 (PEP 3333), so they are encoded back
    to bytes unchanged. ``path`` and ``scheme`` override the environ's where the caller
    knows better (Django's ``request.path`` is decoded already, also under ASGI).
    """
    headers: list[tuple[bytes, bytes]] = []
    for key, value in environ.items():
        if key[:5] == "HTTP_":
            headers.append((key[5:].replace("_", "-").lower().encode("latin-1"), value.encode("latin-1")))
        elif key in _BODY_HEADERS and value:
            headers.append((_BODY_HEADERS[key], value.encode("latin-1")))
    if path is None:
        path = environ_path(environ)
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    remote = environ.get("REMOTE_ADDR")
    return {
        "type": "http",
        "method": environ.get("REQUEST_METHOD", "GET"),
        "scheme": scheme or environ.get("wsgi.url_scheme", "http"),
        "path": path,
        "raw_path": target.encode("latin-1") if target else None,
        "query_string": environ.get("QUERY_STRING", "").encode("latin-1"),
        "headers": headers,
        "client": (remote, int(environ.get("REMOTE_PORT") or 0)) if remote else None,
        "server": (environ.get("SERVER_NAME", ""), int(environ.get("SERVER_PORT") or 0)),
    }


def environ_path(environ: Mapping[str, Any]) -> str:
    """The request's path as the ASGI scope has it (decoded), from ``SCRIPT_NAME`` and ``PATH_INFO``."""
    raw = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1")
    return raw.decode("utf-8", "replace") or "/"
