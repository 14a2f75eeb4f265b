"""What the gateway reads from a request: host, path, cookies, Accept, scheme and the client.

Everything here takes visitor input, so nothing here raises on it: odd bytes
are decoded as latin-1, oversized or malformed values are ignored, and a
forwarded scheme is only believed from a trusted proxy.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, quote

from antechamber.gateway.upstream import Headers

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Loopback only: a proxy on the same machine (nginx, Caddy in front) is the usual setup.
DEFAULT_TRUSTED = ("127.0.0.0/8", "::1/128")
#: Longer query strings are not searched for ``lang`` (they still reach the origin untouched).
_MAX_QUERY = 8192


class TrustedProxies:
    """Addresses whose ``X-Forwarded-*`` headers are believed.

    Example: ``TrustedProxies(["127.0.0.1", "10.0.0.0/8"])``; ``"*"`` trusts everyone
    (only for a gateway that no visitor can reach directly).
    """

    __slots__ = ("_all", "_known", "_networks")

    #: Peers remembered per answer; parsing an address costs more than the rest of routing.
    _KNOWN_MAX = 4096

    def __init__(self, entries: Iterable[str] = DEFAULT_TRUSTED) -> None:
        entries = [e.strip() for e in entries if e.strip()]
        self._all = "*" in entries
        self._networks: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(e, strict=False) for e in entries if e != "*"
        )
        self._known: dict[str, bool] = {}

    def __contains__(self, address: object) -> bool:
        if self._all:
            return True
        if not isinstance(address, str):
            return False
        known = self._known.get(address)
        if known is None:
            known = self._check(address)
            if len(self._known) >= self._KNOWN_MAX:
                self._known.clear()  # many distinct direct visitors: start over rather than grow
            self._known[address] = known
        return known

    def _check(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self._networks)


def header(headers: Headers, name: bytes) -> str | None:
    """The first value of a (lower-case) header, decoded as latin-1, or ``None``."""
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def cookie_values(headers: Headers, names: Iterable[str]) -> dict[str, str]:
    """The values of the wanted cookies (first occurrence wins) from every ``Cookie`` header."""
    wanted = {name.encode("latin-1") for name in names}
    found: dict[str, str] = {}
    for key, value in headers:
        if key != b"cookie":
            continue
        for pair in value.split(b";"):
            name, sep, val = pair.partition(b"=")
            name = name.strip()
            if sep and name in wanted:
                text = name.decode("latin-1")
                if text not in found:
                    found[text] = val.strip().strip(b'"').decode("latin-1")
    return found


def cookie_value(headers: Headers, name: str) -> str | None:
    """``cookie_values(headers, (name,)).get(name)`` for one cookie, without the set and the dict.

    The room cookie is read on every request. A ``Cookie`` header that does not contain
    the name at all cannot hold it (its pairs' names are stripped substrings), so only a
    header that does is split; the first pair named ``name`` wins, as in :func:`cookie_values`.
    """
    wanted = name.encode("latin-1")
    for key, value in headers:
        if key != b"cookie" or wanted not in value:
            continue
        for pair in value.split(b";"):
            found, sep, val = pair.partition(b"=")
            if sep and found.strip() == wanted:
                return val.strip().strip(b'"').decode("latin-1")
    return None


def query_param(query_string: bytes, name: str) -> str | None:
    """The first value of ``name`` in a query string, or ``None``."""
    if not query_string or len(query_string) > _MAX_QUERY:
        return None
    for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if key == name:
            return value
    return None


def split_uri(uri: str) -> tuple[str, bytes]:
    """An original request URI (``/path?query``) into its path and query string."""
    path, _, query = uri.partition("?")
    if not path.startswith("/"):
        path = "/" + path
    return path, query.encode("latin-1", "replace")


def request_target(scope: Mapping[str, Any]) -> str:
    """The request-target to send upstream: the raw path as received, plus the query string."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) and raw else quote(str(scope.get("path") or "/"))
    query = scope.get("query_string")
    if isinstance(query, bytes) and query:
        return f"{path}?{query.decode('latin-1')}"
    return path


class Visitor(NamedTuple):
    """The request as the waiting room sees it (the original request, in forward-auth mode).

    A named tuple rather than a frozen dataclass: one is built for every request, and a
    frozen dataclass's ``__init__`` (an ``object.__setattr__`` per field) cost a microsecond.
    """

    host: str
    path: str
    query_string: bytes
    headers: Headers
    #: ``"https"`` when the visitor's connection is TLS (directly, or per a trusted proxy).
    scheme: str
    #: The visitor's address (for rules): the TCP peer, or behind trusted proxies the
    #: nearest address in ``X-Forwarded-For`` that is not one of them.
    client_ip: str | None
    #: The TCP peer itself (what this hop appends to ``X-Forwarded-For``).
    peer: str | None = None
    #: The request method (the original one, in forward-auth mode).
    method: str = "GET"
    #: The path as the visitor sent it (percent-escapes kept), when the front end has it.
    raw_target: bytes | None = None

    @property
    def secure(self) -> bool:
        return self.scheme == "https"

    @property
    def raw_path(self) -> bytes:
        """The path as sent, for rules (``raw.http.request.uri.path``; decoded for ``http.request.uri.path``)."""
        if self.raw_target is not None:
            return self.raw_target
        return quote(self.path, safe="/:@!$&'()*+,;=-._~%").encode("ascii")

    def wants_json(self) -> bool:
        """The Accept header is exactly ``application/json`` (Cloudflare's rule for JSON mode)."""
        return header(self.headers, b"accept") == "application/json"


def first_values(headers: Headers) -> dict[bytes, bytes]:
    """Each header's first value by (lower-case) name, in one pass (C-level, unlike repeated scans)."""
    return dict(reversed(headers))


def visitor_scheme(scope_scheme: str, headers: Headers, trusted: bool) -> str:
    """``https``/``http`` as the visitor reached us; ``X-Forwarded-Proto`` counts only when trusted."""
    return forwarded_scheme(scope_scheme, first_values(headers).get(b"x-forwarded-proto") if trusted else None)


def forwarded_scheme(scope_scheme: str, forwarded_proto: bytes | None) -> str:
    """``https``/``http`` from a trusted ``X-Forwarded-Proto`` value, else from the connection's own scheme."""
    if forwarded_proto:
        first = forwarded_proto.split(b",")[0].strip().lower()
        if first == b"https":
            return "https"
        if first == b"http":
            return "http"
    return "https" if scope_scheme in ("https", "wss") else "http"


def client_address(peer: str | None, headers: Headers, trusted: TrustedProxies) -> str | None:
    """The visitor's address: walk ``X-Forwarded-For`` from the right past trusted proxies."""
    if peer is None or peer not in trusted:
        return peer
    return forwarded_client(peer, headers, trusted)


def forwarded_client(peer: str, headers: Headers, trusted: TrustedProxies) -> str:
    """:func:`client_address` for a ``peer`` already known to be trusted."""
    chain: list[bytes] = []
    for key, value in headers:
        if key == b"x-forwarded-for" and len(value) <= 4096:
            chain += value.split(b",")
    for part in reversed(chain):
        # Stripped and decoded one at a time: the first untrusted one from the right is usually the last.
        address = part.decode("latin-1").strip()
        if address and address not in trusted:
            return address
    return peer
