"""Forward-confirmed reverse DNS: an address's PTR name counts only if that name resolves back to the address.

The reverse name alone proves nothing (whoever holds an address block writes its PTR records); the forward
lookup of a name under ``googlebot.com`` is answered by Google alone.
"""

from __future__ import annotations

import asyncio
import ipaddress

import dns.asyncresolver
import dns.exception
import dns.name
import dns.resolver
import dns.reversename

from antechamber.crawlers.known import under_domains

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: PTR names of one address followed forward at most (real crawlers have one).
MAX_NAMES = 4


class DnsLookupError(Exception):
    """The lookup did not finish: no answer within the time limit, a failing server, no usable configuration."""


class ForwardConfirmedDns:
    """Confirms an address's host name with dnspython's asyncio resolver (``dns.asyncresolver``), within a limit.

    Args:
        nameserver: the server to ask (an IP address); None reads the system's ``/etc/resolv.conf``.
        port: the server's port.
        time_limit: seconds for the whole check, reverse and forward lookups together.
    """

    def __init__(self, *, nameserver: str | None = None, port: int = 53, time_limit: float = 1.0) -> None:
        self.time_limit = time_limit
        self._nameserver = nameserver
        self._port = port
        self._resolver: dns.asyncresolver.Resolver | None = None

    async def confirmed_hostname(self, ip: str, domains: tuple[str, ...]) -> str | None:
        """The name under ``domains`` that ``ip`` reverse-resolves to and that resolves back to ``ip``, or None.

        None is a definite answer (no such name, or it does not lead back); :class:`DnsLookupError` means
        the answer is unknown.
        """
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        try:
            async with asyncio.timeout(self.time_limit):
                return await self._confirm(address, domains)
        except TimeoutError as exc:
            raise DnsLookupError(f"no answer within {self.time_limit} s") from exc
        except (dns.exception.DNSException, OSError) as exc:
            raise DnsLookupError(f"{type(exc).__name__}: {exc}") from exc

    async def _confirm(self, address: IPAddress, domains: tuple[str, ...]) -> str | None:
        resolver = self._get_resolver()
        try:
            reverse = await resolver.resolve(
                dns.reversename.from_address(str(address)), "PTR", search=False, raise_on_no_answer=False
            )
        except dns.resolver.NXDOMAIN:
            return None
        names: list[dns.name.Name] = [
            record.target for record in reverse if under_domains(record.target.to_text(omit_final_dot=True), domains)
        ]
        forward_type = "A" if address.version == 4 else "AAAA"
        for name in names[:MAX_NAMES]:
            try:
                forward = await resolver.resolve(name, forward_type, search=False, raise_on_no_answer=False)
            except dns.resolver.NXDOMAIN:
                continue
            if any(ipaddress.ip_address(record.address) == address for record in forward):
                return name.to_text(omit_final_dot=True).lower()
        return None

    def _get_resolver(self) -> dns.asyncresolver.Resolver:
        # Made on first use, so a host without /etc/resolv.conf fails its lookups, not the gateway's start.
        if self._resolver is None:
            if self._nameserver is None:
                resolver = dns.asyncresolver.Resolver()
            else:
                resolver = dns.asyncresolver.Resolver(configure=False)
                resolver.nameservers = [self._nameserver]
                resolver.port = self._port
            resolver.lifetime = self.time_limit
            resolver.retry_servfail = False
            self._resolver = resolver
        return self._resolver
