"""How each field's value is read from a request, as code the rule compiler inlines.

Rules are evaluated on every request a room covers, admitted ones included,
so a compiled rule list computes a field once, just before the first rule
that reads it, into a local variable: no object per request, no property
machinery. :data:`FIELD_SOURCES` holds the Python expression for each field
over ``v`` (the request), ``now`` (ms) and ``geo`` (the geo record).

Strings are bytes, as in wirefilter: header values stay as received and text
(host, path) is encoded as UTF-8. ``http.request.uri.path`` is the path with
percent-escapes decoded; the ``raw.`` fields keep it as sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import unquote_to_bytes

from antechamber.rules.addresses import IpValue, ip_value

Headers = Sequence[tuple[bytes, bytes]]
#: Looks an address up in the geo database: the record as field name -> value.
GeoLookup = Callable[[str], Mapping[str, Any]]

#: Longer query strings and cookie headers are not split into arguments (the raw text stays testable).
_MAX_SPLIT = 16384


class RuleRequest(Protocol):
    """What rules read of a request (the gateway's ``Visitor`` is one)."""

    @property
    def host(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def raw_path(self) -> bytes: ...
    @property
    def query_string(self) -> bytes: ...
    @property
    def headers(self) -> Headers: ...
    @property
    def secure(self) -> bool: ...
    @property
    def client_ip(self) -> str | None: ...


def header(headers: Headers, name: bytes) -> bytes:
    """The first value of a (lower-case) header, or empty."""
    for key, value in headers:
        if key == name:
            return value
    return b""


def joined(headers: Headers, name: bytes, separator: bytes) -> bytes:
    """Every value of one (lower-case) header, joined; the common single header costs no join."""
    found = b""
    count = 0
    for key, value in headers:
        if key == name:
            found = value if count == 0 else found + separator + value
            count += 1
    return found


def decoded_path(raw: bytes) -> bytes:
    return unquote_to_bytes(raw) if b"%" in raw else raw


def uri(path: bytes, query: bytes) -> bytes:
    return path + b"?" + query if query else path


def full_uri(request: RuleRequest, path: bytes) -> bytes:
    scheme = b"https://" if request.secure else b"http://"
    return scheme + request.host.encode("utf-8", "surrogateescape") + uri(path, request.query_string)


def extension(path: bytes) -> bytes:
    last = path.rpartition(b"/")[2]
    stem, dot, found = last.rpartition(b".")
    return found.lower() if dot and stem else b""


def header_map(headers: Headers) -> dict[bytes, list[bytes]]:
    found: dict[bytes, list[bytes]] = {}
    for name, value in headers:
        found.setdefault(name.lower(), []).append(value)
    return found


def header_values(headers: Headers, name: bytes) -> list[bytes] | None:
    """Every value of one (lower-case) header, or None when it is absent."""
    found = [value for key, value in headers if key == name]
    return found or None


def arg_values(query: bytes, name: bytes, decode: bool) -> list[bytes] | None:
    """Every value of one query argument, or None when it is absent."""
    if not query:
        return None
    if name not in query and (not decode or (b"%" not in query and b"+" not in query)):
        return None  # the name cannot be there, encoded or not: skip parsing the query
    found = [value for key, value in (args(query) if decode else raw_args(query)) if key == name]
    return found or None


def cookie_map(headers: Headers) -> dict[bytes, list[bytes]]:
    found: dict[bytes, list[bytes]] = {}
    cookie = joined(headers, b"cookie", b"; ")
    if len(cookie) > _MAX_SPLIT:
        return found
    for pair in cookie.split(b";"):
        name, sep, value = pair.partition(b"=")
        if sep:
            found.setdefault(name.strip(), []).append(value.strip())
    return found


def accepted_languages(headers: Headers) -> list[bytes]:
    weighted = []
    for position, part in enumerate(header(headers, b"accept-language").split(b",")):
        tag, _, params = part.strip().partition(b";")
        if not tag or tag == b"*":
            continue
        weight = 1.0
        for param in params.split(b";"):
            key, _, value = param.strip().partition(b"=")
            if key == b"q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weighted.append((-weight, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def raw_args(query: bytes) -> list[tuple[bytes, bytes]]:
    if not query or len(query) > _MAX_SPLIT:
        return []
    return [(name, value) for name, _, value in (part.partition(b"=") for part in query.split(b"&")) if name]


def args(query: bytes) -> list[tuple[bytes, bytes]]:
    return [(form_decode(name), form_decode(value)) for name, value in raw_args(query)]


def form_decode(value: bytes) -> bytes:
    if b"%" not in value and b"+" not in value:
        return value
    return unquote_to_bytes(value.replace(b"+", b" "))


def multimap(pairs: list[tuple[bytes, bytes]]) -> dict[bytes, list[bytes]]:
    found: dict[bytes, list[bytes]] = {}
    for name, value in pairs:
        found.setdefault(name, []).append(value)
    return found


def source_ip(request: RuleRequest) -> IpValue | None:
    return ip_value(request.client_ip)


def geo_record(request: RuleRequest, geo: GeoLookup | None) -> Mapping[str, Any]:
    """The geo record of the client's address (empty without a database or a match)."""
    if geo is None or request.client_ip is None:
        return {}
    return geo(request.client_ip)


#: Helpers the generated code calls, by the name it uses.
HELPERS: Mapping[str, Any] = {
    "_joined": joined,
    "_decoded_path": decoded_path,
    "_uri": uri,
    "_full_uri": full_uri,
    "_extension": extension,
    "_header_map": header_map,
    "_header_values": header_values,
    "_arg_values": arg_values,
    "_cookie_map": cookie_map,
    "_accepted_languages": accepted_languages,
    "_raw_args": raw_args,
    "_args": args,
    "_multimap": multimap,
    "_source_ip": source_ip,
    "_geo_record": geo_record,
}

# Inline: most paths have no escape, and a call per field is a good part of a rule's cost.
_PATH = '(_rp if b"%" not in (_rp := v.raw_path) else _decoded_path(_rp))'
#: Fields whose source reads another local (computed first, once). ``_first`` is each header's
#: first value by name, one C-level dict per request for the single-valued header fields.
FIELD_NEEDS: Mapping[str, str] = {
    "http.request.uri.path.extension": "http.request.uri.path",
    "http.request.uri": "http.request.uri.path",
    "http.request.full_uri": "http.request.uri.path",
    "http.user_agent": "_first",
    "http.referer": "_first",
}

#: field name -> Python expression over ``v``, ``now`` and ``geo``.
FIELD_SOURCES: Mapping[str, str] = {
    "http.host": 'v.host.encode("utf-8", "surrogateescape")',
    "http.request.method": 'v.method.encode("latin-1", "replace")',
    "http.request.uri.path": _PATH,
    "raw.http.request.uri.path": "v.raw_path",
    "http.request.uri.path.extension": "_extension(f_http_request_uri_path)",
    "raw.http.request.uri.path.extension": "_extension(v.raw_path)",
    "http.request.uri.query": "v.query_string",
    "raw.http.request.uri.query": "v.query_string",
    "http.request.uri": "_uri(f_http_request_uri_path, v.query_string)",
    "raw.http.request.uri": "_uri(v.raw_path, v.query_string)",
    "http.request.full_uri": "_full_uri(v, f_http_request_uri_path)",
    "raw.http.request.full_uri": "_full_uri(v, v.raw_path)",
    "ssl": "v.secure",
    "http.request.timestamp.sec": "now // 1000",
    "http.request.timestamp.msec": "now",
    "http.user_agent": 'f__first.get(b"user-agent", b"")',
    "http.referer": 'f__first.get(b"referer", b"")',
    "http.x_forwarded_for": '_joined(v.headers, b"x-forwarded-for", b", ")',
    "http.cookie": '_joined(v.headers, b"cookie", b"; ")',
    "http.request.headers": "_header_map(v.headers)",
    "http.request.headers.names": "[name for name, _ in v.headers]",
    "http.request.headers.values": "[value for _, value in v.headers]",
    "http.request.cookies": "_cookie_map(v.headers)",
    "http.request.accepted_languages": "_accepted_languages(v.headers)",
    "http.request.uri.args": "_multimap(_args(v.query_string))",
    "http.request.uri.args.names": "[name for name, _ in _args(v.query_string)]",
    "http.request.uri.args.values": "[value for _, value in _args(v.query_string)]",
    "raw.http.request.uri.args": "_multimap(_raw_args(v.query_string))",
    "raw.http.request.uri.args.names": "[name for name, _ in _raw_args(v.query_string)]",
    "raw.http.request.uri.args.values": "[value for _, value in _raw_args(v.query_string)]",
    "ip.src": "_source_ip(v)",
    "_first": "dict(reversed(v.headers))",
}
#: The local holding the geo record, computed once for every geo field.
GEO_RECORD_SOURCE = "_geo_record(v, geo)"
