"""Whether a request comes from a verified search-engine crawler: what the gateway asks per request.

The answer needs the User-Agent's claim *and* proof from the address: the engine's published ranges
(instant), or forward-confirmed reverse DNS (a lookup, remembered for a while). A claim that fails both
waits like any visitor; so does one whose lookup fails or takes too long.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from antechamber.crawlers.fcrdns import DnsLookupError, ForwardConfirmedDns
from antechamber.crawlers.host_cache import ExpiringCache
from antechamber.crawlers.known import ALL_DOMAINS, Crawler, claimed_crawler
from antechamber.crawlers.ranges import CrawlerRanges
from antechamber.crawlers.ranges_file import load_crawler_ranges

logger = logging.getLogger(__name__)

#: Seconds a confirmed crawler address stays confirmed.
POSITIVE_TTL = 3600.0
#: Seconds an address whose reverse DNS refuted the claim stays refuted.
NEGATIVE_TTL = 600.0
#: Seconds a lookup that did not finish counts as refuted: long enough that a flood of false claims
#: does not become a flood of DNS queries, short enough that a real crawler is not shut out for long.
FAILURE_TTL = 30.0
#: Addresses remembered.
CACHE_SIZE = 10_000
#: Lookups under way at once; claims beyond them are not verified (and not remembered) until some finish.
MAX_PENDING = 64


@dataclass(frozen=True, slots=True)
class HostLookup:
    """What reverse DNS found for one address: its forward-confirmed host name, or None."""

    hostname: str | None


_NO_HOST = HostLookup(None)


class CrawlerVerifier:
    """Tells whether a request is a verified search-engine crawler; holds the caches, so one per gateway.

    From the request path::

        verdict = verifier.known(client_ip, user_agent)
        if verdict is None:  # a claim only a DNS lookup can settle
            verdict = await verifier.verify(client_ip, user_agent)  # at most dns.time_limit seconds

    Lookups run as tasks of the event loop that first awaits them, so use a verifier from one loop.

    Args:
        ranges: the published ranges (:func:`~antechamber.crawlers.ranges_file.load_crawler_ranges`);
            replace :attr:`ranges` to load new ones.
        dns: the reverse-DNS checker; the default asks the system's resolvers with a 1 s limit.
        clock: monotonic seconds, for the cache's TTLs.
    """

    def __init__(
        self,
        ranges: CrawlerRanges,
        *,
        dns: ForwardConfirmedDns | None = None,
        positive_ttl: float = POSITIVE_TTL,
        negative_ttl: float = NEGATIVE_TTL,
        failure_ttl: float = FAILURE_TTL,
        cache_size: int = CACHE_SIZE,
        max_pending: int = MAX_PENDING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ranges = ranges
        self.dns = dns or ForwardConfirmedDns()
        self._positive_ttl = positive_ttl
        self._negative_ttl = negative_ttl
        self._failure_ttl = failure_ttl
        self._max_pending = max_pending
        self._hosts: ExpiringCache[str, HostLookup] = ExpiringCache(cache_size, clock)
        self._pending: dict[str, asyncio.Future[HostLookup]] = {}

    @classmethod
    def from_data_dir(cls, data_dir: Path | None, *, dns: ForwardConfirmedDns | None = None) -> CrawlerVerifier:
        """A verifier with the shipped ranges, or the data directory's where ``crawlers update`` wrote some."""
        return cls(load_crawler_ranges(data_dir), dns=dns)

    def known(self, ip: str, user_agent: str) -> bool | None:
        """True for a verified crawler; False for no claim or a refuted one; None for a claim DNS must settle.

        Never blocks: a few microseconds, a dict probe and a bisect.
        """
        return self._check(ip, user_agent)[1]

    async def verify(self, ip: str, user_agent: str) -> bool:
        """True when ``user_agent``'s claim holds for ``ip``, looking the address up in DNS when needed.

        Concurrent calls for one address share one lookup; the answer is remembered. A lookup that fails
        or exceeds the time limit means False.
        """
        crawler, verdict = self._check(ip, user_agent)
        if verdict is not None or crawler is None:
            return bool(verdict)
        lookup = await self._lookup(ip)
        return lookup.hostname is not None and crawler.owns_host(lookup.hostname)

    def _check(self, ip: str, user_agent: str) -> tuple[Crawler | None, bool | None]:
        crawler = claimed_crawler(user_agent)
        if crawler is None:
            return None, False
        address = self.ranges.address(ip)
        if address is None:
            return crawler, False
        if self.ranges.covers(crawler.name, address):
            return crawler, True
        if not crawler.domains:
            return crawler, False
        lookup = self._hosts.get(ip)
        if lookup is None:
            return crawler, None
        return crawler, lookup.hostname is not None and crawler.owns_host(lookup.hostname)

    async def _lookup(self, ip: str) -> HostLookup:
        pending = self._pending.get(ip)
        if pending is None:
            if len(self._pending) >= self._max_pending:
                return _NO_HOST
            pending = asyncio.ensure_future(self._look_up_and_remember(ip))
            self._pending[ip] = pending
            pending.add_done_callback(lambda _done: self._pending.pop(ip, None))
        # Shielded: a visitor who leaves does not cancel the lookup others wait for.
        return await asyncio.shield(pending)

    async def _look_up_and_remember(self, ip: str) -> HostLookup:
        try:
            hostname = await self.dns.confirmed_hostname(ip, ALL_DOMAINS)
        except DnsLookupError as exc:
            logger.debug("crawler check for %s did not finish: %s", ip, exc)
            self._hosts.put(ip, _NO_HOST, self._failure_ttl)
            return _NO_HOST
        lookup = HostLookup(hostname)
        self._hosts.put(ip, lookup, self._positive_ttl if hostname else self._negative_ttl)
        return lookup
