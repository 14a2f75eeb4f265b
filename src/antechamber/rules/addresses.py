"""IP addresses as single integers, and sets of them as sorted ranges.

An IPv4 address is its own 32-bit value and an IPv6 address is ``2**128`` plus
its value, so every IPv4 address sorts before every IPv6 one, as wirefilter's Ip
values do. Integers compare in tens of nanoseconds, where ``ipaddress`` objects
take microseconds to build and cannot be compared across versions.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable

IpValue = int
_V6 = 1 << 128
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Addresses parsed per answer; parsing is the costly part of an IP rule.
_PARSED_MAX = 8192
_parsed: dict[str, IpValue | None] = {}


def ip_value(text: str | None) -> IpValue | None:
    """The pair for an address string (IPv4-mapped IPv6 as IPv4), or ``None`` when it is not one."""
    if text is None:
        return None
    found = _parsed.get(text, False)
    if found is not False:
        return found
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        value = None
    else:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        value = int(address) if address.version == 4 else _V6 + int(address)
    if len(_parsed) >= _PARSED_MAX:
        _parsed.clear()  # many distinct visitors: start over rather than grow
    _parsed[text] = value
    return value


def network_range(network: IpNetwork) -> tuple[IpValue, IpValue]:
    """The first and last address of a network."""
    base = 0 if network.version == 4 else _V6
    return base + int(network.network_address), base + int(network.broadcast_address)


class AddressSet:
    """Addresses, networks and ranges, merged into disjoint sorted ranges; ``in`` is a binary search."""

    __slots__ = ("_highs", "_lows")

    def __init__(self, ranges: Iterable[tuple[IpValue, IpValue]]) -> None:
        merged: list[list[IpValue]] = []
        for low, high in sorted(ranges):
            if merged and (low >= _V6) == (merged[-1][1] >= _V6) and low <= merged[-1][1] + 1:
                if high > merged[-1][1]:
                    merged[-1][1] = high
            else:
                merged.append([low, high])
        self._lows = [low for low, _ in merged]
        self._highs = [high for _, high in merged]

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> AddressSet:
        """From addresses and CIDR networks as text (a list's items); text that is neither is skipped."""
        ranges = []
        for text in texts:
            try:
                network = ipaddress.ip_network(text.strip(), strict=False)
            except ValueError:
                continue
            ranges.append(network_range(network))
        return cls(ranges)

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int):
            return False
        at = bisect.bisect_right(self._lows, value) - 1
        return at >= 0 and value <= self._highs[at]

    def __len__(self) -> int:
        return len(self._lows)
