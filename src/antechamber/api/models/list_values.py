"""The values list items hold, checked strictly and made canonical the way Cloudflare documents them.

* IP lists: an IPv4 or IPv6 address, an IPv4 CIDR from /8 to /32 or an IPv6 CIDR
  from /12 to /128, without host bits; IPv6 is stored lowercase and compressed.
* ASN lists: a non-negative 32-bit integer.
* Hostname lists: ``{url_hostname, exclude_exact_hostname?}``; ASCII letters, digits
  and hyphens, with ``*.`` allowed only in front; stored lowercase.
* Redirect lists: Cloudflare's URL redirect object. Antechamber stores these for
  API compatibility but performs no redirects.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from antechamber.api.models.fields import _require_int

IPV4_PREFIXES = range(8, 33)
IPV6_PREFIXES = range(12, 129)
MAX_ASN = 4_294_967_295
#: Cloudflare's limit on a redirect's source and target URL.
MAX_URL_BYTES = 32_768

_PREFIX = re.compile(r"^[0-9]{1,3}$")
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def canonical_ip(text: str) -> str:
    """The canonical text of an IP list item; raises ``ValueError`` saying what is wrong."""
    if any(char.isspace() for char in text) or "%" in text:
        raise ValueError(f"{text!r} is not an IP address or CIDR range (no spaces or zone ids)")
    address, slash, prefix = text.partition("/")
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"{text!r} is not an IPv4 or IPv6 address or CIDR range") from None
    if not slash:
        return str(parsed)
    allowed = IPV4_PREFIXES if parsed.version == 4 else IPV6_PREFIXES
    if not _PREFIX.fullmatch(prefix) or int(prefix) not in allowed:
        raise ValueError(f"{text!r}: an IPv{parsed.version} CIDR prefix must be from /{allowed[0]} to /{allowed[-1]}")
    network = ipaddress.ip_network(f"{parsed}/{int(prefix)}", strict=False)
    if network.network_address != parsed:
        raise ValueError(f"{text!r} has host bits set: write the network address, {network}")
    return str(network)


def canonical_hostname(text: str, *, wildcard: bool = True) -> str:
    """A hostname lowercased, or ``ValueError``; ``*.`` in front is allowed when ``wildcard``."""
    host = text.lower()
    labels = host.split(".")
    if wildcard and labels[0] == "*":
        labels = labels[1:]
    if len(host) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        shape = "example.com or *.example.com" if wildcard else "example.com"
        raise ValueError(
            f"{text!r} is not a hostname such as {shape} (ASCII letters, digits and '-' in dot-separated labels)"
        )
    return host


def _check_url_text(value: str) -> str:
    if len(value.encode()) > MAX_URL_BYTES:
        raise ValueError(f"a URL may be at most {MAX_URL_BYTES} bytes")
    if not value or any(char.isspace() for char in value):
        raise ValueError("a URL must not be empty or contain whitespace")
    return value


def _check_source_url(value: str) -> str:
    scheme, separator, rest = value.partition("://")
    if not separator:
        rest = value
    elif scheme.lower() not in ("http", "https"):
        raise ValueError("the source URL's scheme, if any, must be http or https")
    if "?" in rest or "#" in rest:
        raise ValueError("the source URL must not contain a query string or fragment")
    host = rest.partition("/")[0]
    if "@" in host or ":" in host:
        raise ValueError("the source URL must not contain user information or a port")
    canonical_hostname(host, wildcard=False)
    return value


def _check_target_url(value: str) -> str:
    if not urlsplit(value).scheme:
        raise ValueError("the target URL must be a full URL with a scheme, such as https://example.com/new")
    return value


IpItem = Annotated[StrictStr, AfterValidator(canonical_ip)]
AsnItem = Annotated[StrictInt, Field(ge=0, le=MAX_ASN)]
UrlHostname = Annotated[StrictStr, AfterValidator(canonical_hostname)]
SourceUrl = Annotated[StrictStr, AfterValidator(_check_url_text), AfterValidator(_check_source_url)]
TargetUrl = Annotated[StrictStr, AfterValidator(_check_url_text), AfterValidator(_check_target_url)]
RedirectStatus = Annotated[Literal[301, 302, 307, 308], BeforeValidator(_require_int)]


class HostnameItem(BaseModel):
    """A hostname list item's value."""

    model_config = ConfigDict(extra="ignore")

    url_hostname: UrlHostname
    # Only meaningful for a wildcard: true (the default) matches subdomains only, false the bare domain too.
    exclude_exact_hostname: StrictBool | None = None


class RedirectItem(BaseModel):
    """A redirect list item's value: Cloudflare's URL redirect, defaults filled in."""

    model_config = ConfigDict(extra="ignore")

    source_url: SourceUrl
    target_url: TargetUrl
    status_code: RedirectStatus = 301
    include_subdomains: StrictBool = False
    subpath_matching: StrictBool = False
    preserve_query_string: StrictBool = False
    preserve_path_suffix: StrictBool = False

    @model_validator(mode="after")
    def _query_only_when_not_preserved(self) -> RedirectItem:
        if self.preserve_query_string and urlsplit(self.target_url).query:
            raise ValueError("the target URL may have a query string only when preserve_query_string is false")
        return self
