"""The search-engine crawlers a zone's ``search_engine_crawler_bypass`` lets through, and what claims each one.

A User-Agent only *claims* a crawler; :mod:`antechamber.crawlers.verifier` decides whether the claim holds,
from the engine's published IP ranges or forward-confirmed reverse DNS in :attr:`Crawler.domains`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Crawler:
    """One search engine's crawler: the User-Agent tokens that claim it and the host names that verify it."""

    #: Key of its ranges in the ranges file (``googlebot``, ``bingbot``, ...).
    name: str
    label: str
    #: Substrings of the User-Agent (matched case-insensitively) that claim this crawler.
    user_agent_tokens: tuple[str, ...]
    #: Reverse-DNS domains the engine documents for its crawlers; empty when it publishes IP addresses only.
    domains: tuple[str, ...]

    def owns_host(self, hostname: str) -> bool:
        """Whether ``hostname`` lies under one of this crawler's domains (``crawl-1-2-3-4.googlebot.com``)."""
        return under_domains(hostname, self.domains)


def under_domains(hostname: str, domains: tuple[str, ...]) -> bool:
    """Whether ``hostname`` lies strictly under one of ``domains`` (lower-case, no trailing dot)."""
    host = hostname.rstrip(".").lower()
    # Strictly under: neither "evilgooglebot.com" nor the bare "googlebot.com" is a crawler's host name.
    return any(host.endswith("." + domain) for domain in domains)


# Google documents googleusercontent.com as a third domain, but only its user-triggered fetchers use it
# (*.gae.googleusercontent.com), and every Google Cloud VM gets a *.bc.googleusercontent.com name that
# forward-confirms: anyone with a VM could pass as Googlebot. Its crawlers' names are crawl-*.googlebot.com,
# geo-crawl-*.geo.googlebot.com and rate-limited-proxy-*.google.com.
_GOOGLE_DOMAINS = ("googlebot.com", "google.com")

GOOGLEBOT = Crawler(
    name="googlebot",
    label="Googlebot (Google's common crawlers)",
    # Googlebot-Image, -News and -Video contain "Googlebot"; Google-InspectionTool is Search Console's URL test.
    user_agent_tokens=("Googlebot", "Storebot-Google", "Google-InspectionTool"),
    domains=_GOOGLE_DOMAINS,
)
GOOGLE_SPECIAL = Crawler(
    name="google-special",
    label="Google's special-case crawlers (AdsBot, AdSense, APIs-Google)",
    user_agent_tokens=("AdsBot-Google", "Mediapartners-Google", "APIs-Google"),
    domains=_GOOGLE_DOMAINS,
)
BINGBOT = Crawler(
    name="bingbot",
    label="Bingbot",
    user_agent_tokens=("bingbot", "BingPreview", "msnbot", "adidxbot"),
    domains=("search.msn.com",),
)
APPLEBOT = Crawler(
    name="applebot",
    label="Applebot",
    user_agent_tokens=("Applebot",),
    domains=("applebot.apple.com",),
)
DUCKDUCKBOT = Crawler(
    name="duckduckbot",
    label="DuckDuckBot",
    user_agent_tokens=("DuckDuckBot",),
    # DuckDuckGo documents no reverse-DNS names: its published addresses are the only proof.
    domains=(),
)
YANDEXBOT = Crawler(
    name="yandexbot",
    label="YandexBot",
    user_agent_tokens=("YandexBot", "YandexMobileBot", "YandexImages", "YandexVideo", "YandexNews"),
    domains=("yandex.ru", "yandex.net", "yandex.com"),
)
BAIDUSPIDER = Crawler(
    name="baiduspider",
    label="Baiduspider",
    user_agent_tokens=("Baiduspider",),
    domains=("baidu.com", "baidu.jp"),
)

KNOWN_CRAWLERS: tuple[Crawler, ...] = (
    GOOGLEBOT,
    GOOGLE_SPECIAL,
    BINGBOT,
    APPLEBOT,
    DUCKDUCKBOT,
    YANDEXBOT,
    BAIDUSPIDER,
)
CRAWLERS_BY_NAME: dict[str, Crawler] = {crawler.name: crawler for crawler in KNOWN_CRAWLERS}
#: Every domain any known crawler verifies by, so one reverse lookup per address serves every claim.
ALL_DOMAINS: tuple[str, ...] = tuple(dict.fromkeys(domain for crawler in KNOWN_CRAWLERS for domain in crawler.domains))

_TOKENS: tuple[tuple[str, Crawler], ...] = tuple(
    (token.lower(), crawler) for crawler in KNOWN_CRAWLERS for token in crawler.user_agent_tokens
)
#: Every token contains one of these (the tests check); a browser's User-Agent contains none, so most requests
#: stop after five substring tests. :func:`claimed_crawler` spells them out, as a loop over them is slower.
USER_AGENT_HINTS = ("bot", "google", "spider", "yandex", "bing")


def claimed_crawler(user_agent: str) -> Crawler | None:
    """The crawler ``user_agent`` claims to be, or None; a claim proves nothing until it is verified."""
    lowered = user_agent.lower()
    if (
        "bot" not in lowered
        and "google" not in lowered
        and "spider" not in lowered
        and "yandex" not in lowered
        and "bing" not in lowered
    ):
        return None
    for token, crawler in _TOKENS:
        if token in lowered:
            return crawler
    return None
