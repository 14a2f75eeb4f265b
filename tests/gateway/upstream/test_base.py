"""The upstream seam's values: origins, timeouts, the exception tree and the public surface."""

from __future__ import annotations

import pytest

import antechamber.gateway.upstream as upstream
from antechamber.gateway.upstream import (
    Origin,
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
)


class TestOrigin:
    @pytest.mark.parametrize(
        ("url", "expected", "host_header"),
        [
            ("http://shop.example", Origin("http", "shop.example", 80), b"shop.example"),
            ("https://shop.example", Origin("https", "shop.example", 443), b"shop.example"),
            ("HTTPS://Shop.Example:8443/ignored?x", Origin("https", "shop.example", 8443), b"shop.example:8443"),
            ("http://127.0.0.1:3000", Origin("http", "127.0.0.1", 3000), b"127.0.0.1:3000"),
            ("http://[::1]:8080", Origin("http", "::1", 8080), b"[::1]:8080"),
        ],
    )
    def test_parse(self, url: str, expected: Origin, host_header: bytes) -> None:
        """URLs parse to scheme, lower-cased host and port; the Host header omits default ports."""
        origin = Origin.parse(url)
        assert expected == origin
        assert host_header == origin.host_header

    @pytest.mark.parametrize("url", ["ftp://x", "shop.example", "http://", "http://x:notaport"])
    def test_parse_rejects(self, url: str) -> None:
        """Anything but http(s)://host[:port] is refused."""
        with pytest.raises(ValueError):
            Origin.parse(url)

    def test_server_hostname_and_hashing(self) -> None:
        """server_hostname is kept for TLS, and equal origins are one pool key."""
        a = Origin.parse("https://10.0.0.5", server_hostname="shop.example")
        assert (True, "shop.example") == (a.tls, a.server_hostname)
        assert 1 == len({a, Origin.parse("https://10.0.0.5", server_hostname="shop.example")})


def test_exception_tree() -> None:
    """Every upstream failure is an UpstreamError; a timeout names its phase."""
    assert all(issubclass(e, UpstreamError) for e in (UpstreamConnectError, UpstreamTimeout, UpstreamProtocolError))
    exc = UpstreamTimeout("idle", 2.5)
    assert ("idle", 2.5, "upstream idle timeout after 2.5s") == (exc.phase, exc.seconds, str(exc))


def test_exported_members() -> None:
    """The package's __all__ is sorted, resolves, and covers every public class it defines."""
    assert sorted(upstream.__all__) == upstream.__all__
    assert all(hasattr(upstream, name) for name in upstream.__all__)
    classes = {n for n, v in vars(upstream).items() if isinstance(v, type) and not n.startswith("_")}
    assert classes <= set(upstream.__all__)
