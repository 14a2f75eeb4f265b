"""Header rewriting for the proxy hop: hop-by-hop removal and X-Forwarded-*.

Header names and values stay raw ``bytes`` as received (ASGI servers hand them over
lower-cased; the upstream client keeps whatever case the origin sent). Names are compared
case-insensitively.
"""

from __future__ import annotations

from collections.abc import Iterable

from antechamber.gateway.upstream.base import Headers

__all__ = ["HOP_BY_HOP", "connection_tokens", "proxy_request_headers", "strip_hop_by_hop"]

#: Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus the
#: non-standard ``proxy-connection`` that old clients still send.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)

_XFF = b"x-forwarded-for"
_XFP = b"x-forwarded-proto"
_XFH = b"x-forwarded-host"
# Header names proxy_request_headers must look at; everything else is copied as is.
_SPECIAL = HOP_BY_HOP | {b"host", _XFF, _XFP, _XFH}
# Connection values that name no other header (browsers send "keep-alive"): no split needed.
_PLAIN_CONNECTION = frozenset({b"keep-alive", b"close", b"upgrade"})


def connection_tokens(headers: Iterable[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """The lower-cased option names listed in every ``Connection`` header."""
    tokens: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b","))
    tokens.discard(b"")
    return frozenset(tokens)


def strip_hop_by_hop(headers: Iterable[tuple[bytes, bytes]], *, keep: frozenset[bytes] = frozenset()) -> Headers:
    """Drop hop-by-hop headers and any header named in ``Connection``; ``keep`` spares some.

    ``keep`` exists for the Upgrade hop, which must forward ``upgrade`` (and sets its own
    ``connection``).
    """
    headers = list(headers)
    drop = (HOP_BY_HOP | connection_tokens(headers)) - keep
    return [(n, v) for n, v in headers if n.lower() not in drop]


def proxy_request_headers(
    headers: Iterable[tuple[bytes, bytes]],
    *,
    client_ip: str | None,
    scheme: str,
    trust_forwarded: bool = True,
    host: bytes | None = None,
    upgrade: bool = False,
) -> Headers:
    """Build the headers to send to the origin from the visitor's request headers.

    Args:
        headers: the visitor's request headers.
        client_ip: the visitor's address (the TCP peer); appended to ``X-Forwarded-For``.
        scheme: ``"http"`` or ``"https"`` as the visitor reached the gateway.
        trust_forwarded: when the gateway sits behind a trusted proxy, keep the incoming
            ``X-Forwarded-*`` chain and append to it (as nginx's
            ``$proxy_add_x_forwarded_for`` does). When ``False``, incoming values are
            spoofable and are replaced by what this hop saw.
        host: replace the ``Host`` header (e.g. with the origin's name); ``None`` keeps
            the visitor's, which is what most origins behind a proxy expect.
        upgrade: keep ``Upgrade`` for a WebSocket hop and send ``Connection: upgrade``.

    Several ``X-Forwarded-For`` headers are merged into one comma-separated value, which
    RFC 9110 §5.3 makes equivalent and which origins parse more reliably.
    """
    # One pass, since this runs for every proxied request; the Connection-named case is rare
    # and handled by a second filter only when it occurs.
    out: Headers = []
    forwarded_for: list[bytes] = []
    proto: bytes | None = None
    fwd_host: bytes | None = None
    original_host: bytes | None = None
    named: set[bytes] | None = None
    for name, value in headers:
        lower = name.lower()
        if lower in _SPECIAL:
            if lower in HOP_BY_HOP:
                if lower == b"connection":
                    tokens = value.lower()
                    if tokens not in _PLAIN_CONNECTION:
                        named = (named or set()) | {t.strip() for t in tokens.split(b",")}
                elif upgrade and lower == b"upgrade":
                    out.append((name, value))
                continue
            if lower == b"host":
                original_host = value
                if host is None:
                    out.append((name, value))
            elif trust_forwarded:
                if lower == _XFF:
                    forwarded_for.append(value.strip())
                elif lower == _XFP:
                    proto = proto or value.strip()
                else:
                    fwd_host = fwd_host or value.strip()
            continue
        out.append((name, value))
    if named:
        named.discard(b"upgrade" if upgrade else b"")
        out = [(n, v) for n, v in out if n.lower() not in named]
    if host is not None:
        out.insert(0, (b"host", host))
    if client_ip is not None:
        forwarded_for.append(client_ip.encode("ascii"))
    chain = b", ".join(v for v in forwarded_for if v)
    if chain:
        out.append((_XFF, chain))
    out.append((_XFP, proto or scheme.encode("ascii")))
    if fwd_host or original_host:
        out.append((_XFH, fwd_host or original_host or b""))
    if upgrade:
        out.append((b"connection", b"upgrade"))
    return out
