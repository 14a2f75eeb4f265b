"""The crawlers' published IP ranges, as the rules' address sets (sorted intervals searched with bisect).

A lookup costs one dict probe for the parsed address (kept in a bounded cache) and one
``bisect`` over the crawler's merged intervals: a few hundred nanoseconds.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from antechamber.rules.addresses import AddressSet, IpValue, ip_value, network_range

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


class CrawlerRanges:
    """Which crawler's published ranges an address lies in.

    Args:
        sources: each crawler's ranges, by crawler name; crawlers without published ranges are absent.
    """

    def __init__(self, sources: Mapping[str, RangeSource]) -> None:
        self.sources: dict[str, RangeSource] = dict(sources)
        self._sets = {name: AddressSet(map(network_range, source.networks())) for name, source in self.sources.items()}

    @staticmethod
    def address(ip: str) -> IpValue | None:
        """``ip`` parsed (IPv4-mapped IPv6 as IPv4), from the shared bounded cache; None when it is no address."""
        return ip_value(ip)

    def covers(self, crawler: str, address: IpValue) -> bool:
        """Whether ``address`` lies in the ranges ``crawler``'s engine publishes."""
        found = self._sets.get(crawler)
        return found is not None and address in found

    def contains(self, crawler: str, ip: str) -> bool:
        """Whether the address ``ip`` lies in ``crawler``'s published ranges (False when ``ip`` is no address)."""
        address = self.address(ip)
        return address is not None and self.covers(crawler, address)
