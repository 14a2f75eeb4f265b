"""The crawlers' published IP ranges, as sorted integer intervals searched with bisect.

A lookup costs one dict probe for the parsed address (kept in a bounded cache) and one
``bisect`` over the crawler's merged intervals: a few hundred nanoseconds.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: Parsed addresses kept; the cache is emptied whenever it fills (bounded, and cheap to refill).
ADDRESS_CACHE_SIZE = 65536

#: An address as (IP version, integer value); IPv4-mapped IPv6 addresses count as IPv4.
Address = tuple[int, int]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class RangeSource:
    """One crawler's published ranges and where they came from."""

    crawler: str
    #: Where the engine publishes them (URL).
    source: str
    #: When they were taken: the publication's own ``creationTime`` where it has one.
    taken: str
    #: How this copy reached the package or the data directory.
    via: str
    #: Normalised CIDR prefixes, IPv4 and IPv6.
    prefixes: tuple[str, ...]

    def networks(self) -> list[Network]:
        """The prefixes as networks."""
        return [ipaddress.ip_network(prefix) for prefix in self.prefixes]


class Intervals:
    """Disjoint, sorted ``[first, last]`` integer intervals of one address family."""

    __slots__ = ("_firsts", "_lasts")

    def __init__(self, networks: Iterable[Network]) -> None:
        merged: list[list[int]] = []
        for first, last in sorted((int(net.network_address), int(net.broadcast_address)) for net in networks):
            if merged and first <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], last)
            else:
                merged.append([first, last])
        self._firsts = [first for first, _ in merged]
        self._lasts = [last for _, last in merged]

    def __contains__(self, value: int) -> bool:
        index = bisect_right(self._firsts, value) - 1
        return index >= 0 and value <= self._lasts[index]

    def __len__(self) -> int:
        return len(self._firsts)


def parse_address(text: str) -> Address | None:
    """``text`` as an :data:`Address`, or None when it is not an IP address."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped
        return (4, int(mapped)) if mapped is not None else (6, int(address))
    return (4, int(address))


class CrawlerRanges:
    """Which crawler's published ranges an address lies in.

    Args:
        sources: each crawler's ranges, by crawler name; crawlers without published ranges are absent.
        address_cache_size: parsed addresses kept (the request path sees the same clients again and again).
    """

    def __init__(self, sources: Mapping[str, RangeSource], *, address_cache_size: int = ADDRESS_CACHE_SIZE) -> None:
        self.sources: dict[str, RangeSource] = dict(sources)
        self._v4: dict[str, Intervals] = {}
        self._v6: dict[str, Intervals] = {}
        for name, source in self.sources.items():
            networks = source.networks()
            self._v4[name] = Intervals(net for net in networks if net.version == 4)
            self._v6[name] = Intervals(net for net in networks if net.version == 6)
        self._addresses: dict[str, Address | None] = {}
        self._address_cache_size = address_cache_size

    def address(self, ip: str) -> Address | None:
        """``ip`` parsed, from the cache when it was seen lately; None when it is not an IP address."""
        try:
            return self._addresses[ip]
        except KeyError:
            pass
        parsed = parse_address(ip)
        if len(self._addresses) >= self._address_cache_size:
            self._addresses.clear()
        self._addresses[ip] = parsed
        return parsed

    def covers(self, crawler: str, address: Address) -> bool:
        """Whether ``address`` lies in the ranges ``crawler``'s engine publishes."""
        intervals = (self._v4 if address[0] == 4 else self._v6).get(crawler)
        return intervals is not None and address[1] in intervals

    def contains(self, crawler: str, ip: str) -> bool:
        """Whether the address ``ip`` lies in ``crawler``'s published ranges (False when ``ip`` is no address)."""
        address = self.address(ip)
        return address is not None and self.covers(crawler, address)
