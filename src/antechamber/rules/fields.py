"""The request fields a waiting room rule may name, and why the others are refused.

A waiting room decides before it reads a request's body and has no edge
network, so body, JWT and most ``cf.*`` fields have nothing behind them here.
Cloudflare itself excludes ``cf.threat_score``, ``cf.bot_management.*`` and
every response field from waiting room rules.
"""

from __future__ import annotations

from collections.abc import Mapping

from antechamber.rules.types import BOOL, BYTES, BYTES_ARRAY, BYTES_MAP, INT, IP, ValueType

#: Fields every request has.
REQUEST_FIELDS: Mapping[str, ValueType] = {
    "http.host": BYTES,
    "http.request.uri": BYTES,
    "http.request.uri.path": BYTES,
    "http.request.uri.path.extension": BYTES,
    "http.request.uri.query": BYTES,
    "http.request.full_uri": BYTES,
    "http.request.method": BYTES,
    "http.user_agent": BYTES,
    "http.referer": BYTES,
    "http.cookie": BYTES,
    "http.x_forwarded_for": BYTES,
    "http.request.headers": BYTES_MAP,
    "http.request.headers.names": BYTES_ARRAY,
    "http.request.headers.values": BYTES_ARRAY,
    "http.request.uri.args": BYTES_MAP,
    "http.request.uri.args.names": BYTES_ARRAY,
    "http.request.uri.args.values": BYTES_ARRAY,
    "http.request.cookies": BYTES_MAP,
    "http.request.accepted_languages": BYTES_ARRAY,
    "raw.http.request.uri": BYTES,
    "raw.http.request.uri.path": BYTES,
    "raw.http.request.uri.path.extension": BYTES,
    "raw.http.request.uri.query": BYTES,
    "raw.http.request.full_uri": BYTES,
    "raw.http.request.uri.args": BYTES_MAP,
    "raw.http.request.uri.args.names": BYTES_ARRAY,
    "raw.http.request.uri.args.values": BYTES_ARRAY,
    "http.request.timestamp.sec": INT,
    "http.request.timestamp.msec": INT,
    "ip.src": IP,
    "ssl": BOOL,
}

#: Fields answered from the operator's MaxMind-format database (``ip.geoip.*`` are the older names).
GEO_FIELDS: Mapping[str, ValueType] = {
    "ip.src.asnum": INT,
    "ip.src.city": BYTES,
    "ip.src.continent": BYTES,
    "ip.src.country": BYTES,
    "ip.src.is_in_european_union": BOOL,
    "ip.src.lat": BYTES,
    "ip.src.lon": BYTES,
    "ip.src.metro_code": BYTES,
    "ip.src.postal_code": BYTES,
    "ip.src.region": BYTES,
    "ip.src.region_code": BYTES,
    "ip.src.subdivision_1_iso_code": BYTES,
    "ip.src.subdivision_2_iso_code": BYTES,
    "ip.src.timezone.name": BYTES,
    "ip.geoip.asnum": INT,
    "ip.geoip.continent": BYTES,
    "ip.geoip.country": BYTES,
    "ip.geoip.is_in_european_union": BOOL,
    "ip.geoip.subdivision_1_iso_code": BYTES,
    "ip.geoip.subdivision_2_iso_code": BYTES,
}

#: The geo field each older ``ip.geoip.*`` name stands for.
GEO_ALIASES: Mapping[str, str] = {
    name: "ip.src." + name.removeprefix("ip.geoip.") for name in GEO_FIELDS if name.startswith("ip.geoip.")
}


def refusal(name: str) -> str:
    """Why ``name`` cannot be used in a waiting room rule (for a name not in the two tables above)."""
    if name == "cf.threat_score" or name.startswith("cf.bot_management."):
        return f"the field {name} cannot be used in waiting room rules"
    if name.startswith(("http.response.", "raw.http.response.", "cf.response.")):
        return f"{name} is a response field; waiting room rules see only the request"
    if name.startswith("http.request.body."):
        return f"{name} is a request body field; the waiting room decides before it reads a body"
    if name.startswith("http.request.jwt."):
        return f"{name} needs API Shield's JWT validation, which a self-hosted waiting room does not have"
    if name.startswith("cf."):
        return f"{name} is set by Cloudflare's edge, which a self-hosted waiting room does not have"
    return f"unknown field {name}"
