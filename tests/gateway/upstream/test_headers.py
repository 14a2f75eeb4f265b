"""Proxy header rewriting: hop-by-hop removal and X-Forwarded-*."""

from __future__ import annotations

from antechamber.gateway.upstream.headers import connection_tokens, proxy_request_headers, strip_hop_by_hop


class TestStripHopByHop:
    def test_standard_and_connection_named(self) -> None:
        """Standard hop-by-hop headers and any header named in Connection are removed, case-insensitively."""
        headers = [
            (b"Host", b"a"),
            (b"Connection", b"keep-alive, X-Secret"),
            (b"connection", b"Other"),
            (b"x-secret", b"1"),
            (b"OTHER", b"2"),
            (b"Keep-Alive", b"timeout=5"),
            (b"Transfer-Encoding", b"chunked"),
            (b"TE", b"trailers"),
            (b"Trailer", b"X"),
            (b"Upgrade", b"h2c"),
            (b"Proxy-Authorization", b"x"),
            (b"Proxy-Connection", b"keep-alive"),
            (b"Accept", b"*/*"),
        ]
        assert [(b"Host", b"a"), (b"Accept", b"*/*")] == strip_hop_by_hop(headers)

    def test_keep_spares_upgrade(self) -> None:
        """``keep`` lets the Upgrade header through for a WebSocket hop."""
        headers = [(b"connection", b"upgrade"), (b"upgrade", b"websocket")]
        assert [(b"upgrade", b"websocket")] == strip_hop_by_hop(headers, keep=frozenset({b"upgrade"}))

    def test_connection_tokens(self) -> None:
        """Connection tokens are collected from every Connection header, lower-cased, blanks dropped."""
        assert {b"close", b"x-a"} == connection_tokens([(b"Connection", b"Close, ,X-A"), (b"x", b"y")])


class TestProxyRequestHeaders:
    def test_adds_forwarded_headers(self) -> None:
        """A direct visitor gets X-Forwarded-For/-Proto/-Host describing this hop."""
        out = proxy_request_headers(
            [(b"host", b"shop.example"), (b"accept", b"*/*")], client_ip="203.0.113.7", scheme="https"
        )
        assert [
            (b"host", b"shop.example"),
            (b"accept", b"*/*"),
            (b"x-forwarded-for", b"203.0.113.7"),
            (b"x-forwarded-proto", b"https"),
            (b"x-forwarded-host", b"shop.example"),
        ] == out

    def test_appends_to_trusted_chain(self) -> None:
        """Behind a trusted proxy the chain is merged into one header and the visitor's hop appended."""
        out = proxy_request_headers(
            [
                (b"X-Forwarded-For", b"198.51.100.1"),
                (b"x-forwarded-for", b"10.0.0.1, 10.0.0.2"),
                (b"X-Forwarded-Proto", b"https"),
                (b"X-Forwarded-Host", b"public.example"),
                (b"host", b"internal:8080"),
            ],
            client_ip="10.0.0.3",
            scheme="http",
        )
        assert [
            (b"host", b"internal:8080"),
            (b"x-forwarded-for", b"198.51.100.1, 10.0.0.1, 10.0.0.2, 10.0.0.3"),
            (b"x-forwarded-proto", b"https"),
            (b"x-forwarded-host", b"public.example"),
        ] == out

    def test_untrusted_chain_is_replaced(self) -> None:
        """Without a trusted proxy in front, spoofable X-Forwarded-* values are discarded."""
        out = proxy_request_headers(
            [(b"x-forwarded-for", b"1.2.3.4"), (b"x-forwarded-proto", b"https"), (b"host", b"a")],
            client_ip="::1",
            scheme="http",
            trust_forwarded=False,
        )
        assert [
            (b"host", b"a"),
            (b"x-forwarded-for", b"::1"),
            (b"x-forwarded-proto", b"http"),
            (b"x-forwarded-host", b"a"),
        ] == out

    def test_host_override_and_hop_by_hop(self) -> None:
        """``host`` replaces the Host header (X-Forwarded-Host keeps the visitor's) and hop-by-hop go."""
        out = proxy_request_headers(
            [(b"host", b"shop.example"), (b"connection", b"close"), (b"te", b"trailers"), (b"cookie", b"a=1")],
            client_ip=None,
            scheme="https",
            host=b"origin.internal",
        )
        assert [
            (b"host", b"origin.internal"),
            (b"cookie", b"a=1"),
            (b"x-forwarded-proto", b"https"),
            (b"x-forwarded-host", b"shop.example"),
        ] == out

    def test_upgrade_hop(self) -> None:
        """For an Upgrade, the Upgrade header survives and Connection: upgrade is set."""
        out = proxy_request_headers(
            [(b"host", b"a"), (b"connection", b"Upgrade"), (b"upgrade", b"websocket"), (b"sec-websocket-key", b"k")],
            client_ip="127.0.0.1",
            scheme="http",
            upgrade=True,
        )
        assert (b"upgrade", b"websocket") in out
        assert (b"sec-websocket-key", b"k") in out
        assert [(b"connection", b"upgrade")] == [h for h in out if h[0] == b"connection"]

    def test_connection_named_headers_dropped(self) -> None:
        """Headers the visitor lists in Connection are treated as hop-by-hop and not forwarded."""
        out = proxy_request_headers(
            [(b"host", b"a"), (b"connection", b"X-Private, keep-alive"), (b"x-private", b"1"), (b"x-public", b"2")],
            client_ip=None,
            scheme="http",
        )
        assert [
            (b"host", b"a"),
            (b"x-public", b"2"),
            (b"x-forwarded-proto", b"http"),
            (b"x-forwarded-host", b"a"),
        ] == out
