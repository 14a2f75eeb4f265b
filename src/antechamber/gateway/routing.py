"""Which room covers a request: host and path-prefix matching.

DESIGN section 3: the host is compared case-insensitively with any port
dropped; the path is a case-sensitive prefix (``/shop`` covers ``/shop``,
``/shop/x`` and ``/shopping``, as Cloudflare's implied wildcard says); the
query string is ignored; the longest matching path wins. The table is built
once per configuration change, so a lookup is one dict hit and a short scan
of that host's paths, longest first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


#: Distinct Host header values remembered by a route table before it starts over.
_SEEN_MAX = 1024


def normalize_host(host: str) -> str:
    """Lower-case a Host header value and drop its port (IPv6 literals keep their brackets)."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1] if end != -1 else host
    colon = host.rfind(":")
    if colon != -1 and host[colon + 1 :].isdigit():
        host = host[:colon]
    return host.rstrip(".")


@dataclass(frozen=True, slots=True)
class Route(Generic[T]):
    """One (host, path prefix) a room covers, with the value the table hands back."""

    host: str
    path: str
    target: T


class RouteTable(Generic[T]):
    """Maps a request's host and path to the room covering it, if any."""

    __slots__ = ("_by_host", "_seen")

    def __init__(self, routes: Iterable[Route[T]]) -> None:
        by_host: dict[str, list[tuple[str, T]]] = {}
        for route in routes:
            path = route.path or "/"
            by_host.setdefault(normalize_host(route.host), []).append((path, route.target))
        for paths in by_host.values():
            # Longest prefix first, so the first hit is the most specific room.
            paths.sort(key=lambda entry: len(entry[0]), reverse=True)
        self._by_host = by_host
        # Host header as sent -> its routes: normalising it was a third of a match, and a site
        # sees few distinct Host values (bounded all the same: anyone may send any).
        self._seen: dict[str, list[tuple[str, T]]] = {}

    def match(self, host: str, path: str) -> T | None:
        """Return the target of the most specific route covering ``host`` and ``path``."""
        paths = self._seen.get(host)
        if paths is None:
            if len(self._seen) >= _SEEN_MAX:
                self._seen.clear()
            paths = self._seen[host] = self._by_host.get(normalize_host(host), [])
        if not paths:
            return None
        query = path.find("?")
        if query != -1:
            path = path[:query]
        for prefix, target in paths:
            if path.startswith(prefix):
                return target
        return None

    def only_target(self, host: str) -> T | None:
        """The target of every route on ``host`` when they all have the same one (one room covers the host)."""
        paths = self._by_host.get(normalize_host(host))
        if not paths:
            return None
        first = paths[0][1]
        return first if all(target is first for _, target in paths) else None

    def whole_host(self, host: str) -> T | None:
        """The target of every path on ``host``, when one covers them all (a route for ``/``, no other target)."""
        target = self.only_target(host)
        paths = self._by_host.get(normalize_host(host)) or []
        return target if target is not None and paths[-1][0] == "/" else None

    def __len__(self) -> int:
        return sum(len(paths) for paths in self._by_host.values())
