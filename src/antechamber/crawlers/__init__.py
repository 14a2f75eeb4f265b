"""Verified search-engine crawlers, for the zone setting ``search_engine_crawler_bypass``.

A request is a verified crawler when its User-Agent claims a known crawler (:func:`claimed_crawler`)
*and* its address proves the claim: it lies in the ranges the engine publishes (:class:`CrawlerRanges`),
or its reverse-DNS name lies in the engine's domains and resolves back to it (:class:`ForwardConfirmedDns`).
The User-Agent alone never verifies anything. :class:`CrawlerVerifier` puts the three together.
"""

from antechamber.crawlers.fcrdns import DnsLookupError, ForwardConfirmedDns
from antechamber.crawlers.known import CRAWLERS_BY_NAME, KNOWN_CRAWLERS, Crawler, claimed_crawler
from antechamber.crawlers.ranges import CrawlerRanges, RangeSource
from antechamber.crawlers.ranges_file import RangesFileError, load_crawler_ranges
from antechamber.crawlers.verifier import CrawlerVerifier

__all__ = [
    "CRAWLERS_BY_NAME",
    "KNOWN_CRAWLERS",
    "Crawler",
    "CrawlerRanges",
    "CrawlerVerifier",
    "DnsLookupError",
    "ForwardConfirmedDns",
    "RangeSource",
    "RangesFileError",
    "claimed_crawler",
    "load_crawler_ranges",
]
