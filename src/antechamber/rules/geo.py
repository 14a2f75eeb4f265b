"""Geo fields from MaxMind-format databases (GeoLite2 / GeoIP2 City, Country and ASN, or any ``.mmdb``).

The operator passes one or more database files (``serve --geoip PATH``); a
City or Country database gives the location fields and an ASN database
``ip.src.asnum``. Records are flattened to the rule field names once per
address and kept in a bounded cache, so a visitor's later requests cost a
dictionary lookup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import maxminddb

#: Addresses remembered; a lookup in the database takes a few microseconds.
_CACHE_MAX = 16384


class GeoDatabase:
    """``lookup(address)`` -> the rule fields the databases know for it (text values as bytes)."""

    def __init__(self, paths: Iterable[Path | str]) -> None:
        self.paths = [Path(path) for path in paths]
        if not self.paths:
            raise ValueError("a geo database needs at least one .mmdb file")
        self._readers = [maxminddb.open_database(str(path)) for path in self.paths]
        self._cache: dict[str, Mapping[str, Any]] = {}

    def lookup(self, address: str) -> Mapping[str, Any]:
        found = self._cache.get(address)
        if found is not None:
            return found
        fields: dict[str, Any] = {}
        for reader in self._readers:
            try:
                record = reader.get(address.partition("%")[0])
            except ValueError:
                record = None
            if isinstance(record, dict):
                fields.update(flatten(record))
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()  # many distinct visitors: start over rather than grow
        self._cache[address] = fields
        return fields

    def close(self) -> None:
        for reader in self._readers:
            reader.close()


def flatten(record: Mapping[str, Any]) -> dict[str, Any]:
    """A MaxMind record as ``ip.src.*`` field values."""
    fields: dict[str, Any] = {}
    country = _dict(record.get("country"))
    iso = country.get("iso_code")
    if isinstance(iso, str):
        fields["ip.src.country"] = iso.encode()
    if "is_in_european_union" in country or iso is not None:
        fields["ip.src.is_in_european_union"] = bool(country.get("is_in_european_union", False))
    continent = _dict(record.get("continent")).get("code")
    if isinstance(continent, str):
        fields["ip.src.continent"] = continent.encode()
    city = _name(record.get("city"))
    if city is not None:
        fields["ip.src.city"] = city
    subdivisions = record.get("subdivisions")
    if isinstance(subdivisions, list):
        for level, subdivision in enumerate(subdivisions[:2], start=1):
            code = _dict(subdivision).get("iso_code")
            if isinstance(code, str):
                # Cloudflare writes these as ISO 3166-2 codes, country first: "GB-ENG".
                fields[f"ip.src.subdivision_{level}_iso_code"] = f"{iso}-{code}".encode() if iso else code.encode()
                if level == 1:
                    fields["ip.src.region_code"] = code.encode()
        region = _name(subdivisions[0]) if subdivisions else None
        if region is not None:
            fields["ip.src.region"] = region
    postal = _dict(record.get("postal")).get("code")
    if isinstance(postal, str):
        fields["ip.src.postal_code"] = postal.encode()
    location = _dict(record.get("location"))
    for source, field in (("latitude", "ip.src.lat"), ("longitude", "ip.src.lon"), ("metro_code", "ip.src.metro_code")):
        if location.get(source) is not None:
            fields[field] = str(location[source]).encode()
    zone = location.get("time_zone")
    if isinstance(zone, str):
        fields["ip.src.timezone.name"] = zone.encode()
    asn = record.get("autonomous_system_number")
    if isinstance(asn, int):
        fields["ip.src.asnum"] = asn
    return fields


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _name(value: Any) -> bytes | None:
    name = _dict(_dict(value).get("names")).get("en")
    return name.encode() if isinstance(name, str) else None
