"""The ranges file: shipped inside the package, replaced crawler by crawler from the data directory.

The package ships ``ranges.json``; ``antechamber crawlers update`` writes ``<data_dir>/crawler-ranges.json``.
Both have this format::

    {
      "format": 1,
      "crawlers": {
        "googlebot": {
          "source": "https://developers.google.com/static/search/apis/ipranges/googlebot.json",
          "taken": "2026-03-16T15:46:38.000000",
          "via": "how this copy was obtained",
          "prefixes": ["66.249.64.0/27", "2001:4860:4801:10::/64"]
        }
      }
    }

``crawlers`` is keyed by the names in :data:`~antechamber.crawlers.known.KNOWN_CRAWLERS`; ``taken`` is the
publication's own ``creationTime`` where it has one. A crawler in the data directory's file replaces that
crawler's shipped ranges; the others keep theirs.

``crawlers update`` also reads an engine's own file (Google's, Bing's, Apple's and DuckDuckGo's share one
shape: ``{"creationTime": "...", "prefixes": [{"ipv4Prefix": "..."}, {"ipv6Prefix": "..."}]}``).

Every prefix must be a public network no wider than an IPv4 /8 or an IPv6 /16: a private or catch-all
prefix in a crawler's ranges would let anyone claiming that crawler skip the queue.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from antechamber.crawlers.known import CRAWLERS_BY_NAME
from antechamber.crawlers.ranges import CrawlerRanges, RangeSource
from antechamber.private_files import write_private

OVERRIDE_FILE = "crawler-ranges.json"
FORMAT_VERSION = 1
#: The widest prefix accepted per IP version.
WIDEST_PREFIX = {4: 8, 6: 16}


class RangesFileError(ValueError):
    """A ranges file (or an engine's published file) cannot be used."""


def override_path(data_dir: Path) -> Path:
    """Where the data directory's ranges live."""
    return data_dir / OVERRIDE_FILE


def shipped_sources() -> dict[str, RangeSource]:
    """The ranges shipped inside the package."""
    text = resources.files("antechamber.crawlers").joinpath("ranges.json").read_text(encoding="utf-8")
    return parse_document(json.loads(text), origin="the shipped ranges.json")


def read_override(data_dir: Path) -> dict[str, RangeSource]:
    """The data directory's ranges; empty when it has none."""
    path = override_path(data_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    return parse_document(_json(text, str(path)), origin=str(path))


def read_sources(data_dir: Path | None) -> tuple[dict[str, RangeSource], frozenset[str]]:
    """Each crawler's ranges in force, and the names of those the data directory replaces."""
    sources = shipped_sources()
    override = read_override(data_dir) if data_dir is not None else {}
    sources.update(override)
    return sources, frozenset(override)


def load_crawler_ranges(data_dir: Path | None) -> CrawlerRanges:
    """The ranges in force: the shipped ones, with the data directory's file on top when there is one."""
    sources, _ = read_sources(data_dir)
    return CrawlerRanges(sources)


def update_override(
    data_dir: Path,
    file: Path,
    *,
    crawler: str | None = None,
    source: str | None = None,
    now: datetime | None = None,
) -> dict[str, RangeSource]:
    """Put the ranges in ``file`` into the data directory's file; return the crawlers' new entries.

    ``file`` is either a ranges file (every crawler in it, or only ``crawler``) or one engine's published
    file, which needs ``crawler`` and takes its ``source`` URL from the shipped entry unless given.
    """
    moment = now or datetime.now(UTC)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RangesFileError(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}") from exc
    document = _json(text, str(file))
    if isinstance(document, dict) and "crawlers" in document:
        if source is not None:
            raise RangesFileError("--source applies to an engine's published file, not to a ranges file")
        entries = parse_document(document, origin=str(file))
        if crawler is not None:
            if crawler not in entries:
                raise RangesFileError(f"{file} has no ranges for {crawler!r}")
            entries = {crawler: entries[crawler]}
    else:
        if crawler is None:
            raise RangesFileError(f"{file} is one engine's published file: name its crawler with --crawler")
        _known_name(crawler, str(file))
        url = source or shipped_sources().get(crawler, _NO_SOURCE).source
        if not url:
            raise RangesFileError(f"the package ships no ranges for {crawler!r}: give their URL with --source")
        via = f"antechamber crawlers update {file.name} on {moment:%Y-%m-%d}"
        entries = {crawler: parse_published(document, crawler=crawler, source=url, via=via, now=moment)}
    merged = read_override(data_dir)
    merged.update(entries)
    data_dir.mkdir(parents=True, exist_ok=True)
    write_private(override_path(data_dir), render_document(merged))
    return entries


def parse_document(document: object, *, origin: str) -> dict[str, RangeSource]:
    """A ranges file's crawlers, checked; raise :class:`RangesFileError` naming ``origin`` when it is malformed."""
    if not isinstance(document, dict) or document.get("format") != FORMAT_VERSION:
        raise RangesFileError(f"{origin} is not a ranges file of format {FORMAT_VERSION}")
    crawlers = document.get("crawlers")
    if not isinstance(crawlers, dict):
        raise RangesFileError(f"{origin}: 'crawlers' must be an object")
    sources: dict[str, RangeSource] = {}
    for name, entry in crawlers.items():
        _known_name(name, origin)
        if not isinstance(entry, dict):
            raise RangesFileError(f"{origin}: {name!r} must be an object")
        fields = {key: entry.get(key) for key in ("source", "taken", "via")}
        for key, value in fields.items():
            if not isinstance(value, str):
                raise RangesFileError(f"{origin}: {name}.{key} must be a string")
        prefixes = entry.get("prefixes")
        if not isinstance(prefixes, list) or not all(isinstance(prefix, str) for prefix in prefixes):
            raise RangesFileError(f"{origin}: {name}.prefixes must be a list of strings")
        sources[name] = RangeSource(
            crawler=name,
            source=str(fields["source"]),
            taken=str(fields["taken"]),
            via=str(fields["via"]),
            prefixes=normalise_prefixes(prefixes, f"{origin}: {name}"),
        )
    return sources


def parse_published(document: object, *, crawler: str, source: str, via: str, now: datetime) -> RangeSource:
    """An engine's published file (``creationTime`` and ``prefixes``) as ``crawler``'s ranges."""
    if not isinstance(document, dict) or not isinstance(document.get("prefixes"), list):
        raise RangesFileError("expected an engine's published file: an object with a 'prefixes' list")
    prefixes: list[str] = []
    for entry in document["prefixes"]:
        prefix = entry.get("ipv4Prefix", entry.get("ipv6Prefix")) if isinstance(entry, dict) else None
        if not isinstance(prefix, str):
            raise RangesFileError(f"a prefix entry has neither ipv4Prefix nor ipv6Prefix: {entry!r:.80}")
        prefixes.append(prefix)
    created = document.get("creationTime")
    # Without the publisher's own date, the moment of the update is the best date the ranges have.
    taken = created if isinstance(created, str) and created else now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return RangeSource(crawler, source, taken, via, normalise_prefixes(prefixes, crawler))


def normalise_prefixes(prefixes: list[str], origin: str) -> tuple[str, ...]:
    """The prefixes as canonical CIDR strings, duplicates dropped; raise on any that is malformed or unsafe."""
    if not prefixes:
        raise RangesFileError(f"{origin}: no prefixes")
    networks: dict[str, None] = {}
    for prefix in prefixes:
        try:
            network = ipaddress.ip_network(prefix.strip(), strict=False)
        except ValueError as exc:
            raise RangesFileError(f"{origin}: {prefix!r:.60} is not a network") from exc
        if network.prefixlen < WIDEST_PREFIX[network.version]:
            raise RangesFileError(f"{origin}: {network} is wider than /{WIDEST_PREFIX[network.version]}")
        if not network.is_global:
            raise RangesFileError(f"{origin}: {network} is not a public network")
        networks[str(network)] = None
    return tuple(networks)


def render_document(sources: Mapping[str, RangeSource]) -> bytes:
    """``sources`` as a ranges file, one prefix a line."""
    crawlers: dict[str, Any] = {
        name: {"source": entry.source, "taken": entry.taken, "via": entry.via, "prefixes": list(entry.prefixes)}
        for name, entry in sorted(sources.items())
    }
    return (json.dumps({"format": FORMAT_VERSION, "crawlers": crawlers}, indent=2) + "\n").encode()


_NO_SOURCE = RangeSource("", "", "", "", ())


def _known_name(name: str, origin: str) -> None:
    if name not in CRAWLERS_BY_NAME:
        raise RangesFileError(f"{origin}: unknown crawler {name!r} (known: {', '.join(CRAWLERS_BY_NAME)})")


def _json(text: str, origin: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RangesFileError(f"{origin} is not JSON: {exc}") from exc
