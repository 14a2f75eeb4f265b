"""Route matching: host and path prefix, longest path wins."""

from __future__ import annotations

import pytest

from antechamber.gateway.routing import Route, RouteTable, normalize_host


def table() -> RouteTable[str]:
    return RouteTable(
        [
            Route("shop.example.com", "/", "root"),
            Route("shop.example.com", "/shop", "shop"),
            Route("shop.example.com", "/shop/checkout", "checkout"),
            Route("Other.Example.com", "/api", "api"),
        ]
    )


class TestNormalizeHost:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("Shop.Example.COM", "shop.example.com"),
            ("shop.example.com:8443", "shop.example.com"),
            ("shop.example.com.", "shop.example.com"),
            ("[::1]:8000", "[::1]"),
            ("[::1]", "[::1]"),
        ],
    )
    def test_normalizes(self, raw: str, expected: str) -> None:
        """Hosts compare case-insensitively, without port or trailing dot."""
        assert expected == normalize_host(raw)


class TestRouteTable:
    def test_longest_path_wins(self) -> None:
        """The most specific (longest) matching path prefix chooses the room."""
        assert "checkout" == table().match("shop.example.com", "/shop/checkout/pay")
        assert "shop" == table().match("shop.example.com", "/shop/cart")
        assert "root" == table().match("shop.example.com", "/about")

    def test_prefix_is_literal(self) -> None:
        """`/shop` also covers `/shopping`, as Cloudflare's implied wildcard says."""
        assert "shop" == table().match("shop.example.com", "/shopping")

    def test_path_is_case_sensitive(self) -> None:
        """Paths compare case-sensitively: `/SHOP` is not under `/shop`."""
        assert "root" == table().match("shop.example.com", "/SHOP")

    def test_host_case_and_port_ignored(self) -> None:
        """The Host header's case and port do not matter."""
        assert "api" == table().match("OTHER.example.com:443", "/api/v1")

    def test_query_string_ignored(self) -> None:
        """The query string plays no part in matching."""
        assert "shop" == table().match("shop.example.com", "/shop?x=/shop/checkout")

    def test_unmatched(self) -> None:
        """A host or path no room covers matches nothing."""
        assert table().match("unknown.example.com", "/") is None
        assert table().match("other.example.com", "/") is None

    def test_a_whole_host_is_one_target_from_the_root_down(self) -> None:
        """whole_host: the one target of a host routed from ``/``; none for shared hosts or a prefix alone."""
        whole = RouteTable([Route("a.example", "/", "a"), Route("A.example:443", "/x", "a")])
        assert whole.whole_host("a.example") == "a"
        assert table().whole_host("shop.example.com") is None  # three rooms share it
        assert table().whole_host("other.example.com") is None  # only /api is covered
        assert table().whole_host("unknown.example.com") is None

    def test_len_counts_routes(self) -> None:
        """The table reports how many routes it holds."""
        assert 4 == len(table())


class TestSeenHosts:
    def test_a_host_matches_alike_the_first_time_and_after(self) -> None:
        """The remembered Host values give the same room as normalising them afresh, unknown hosts included."""
        routes = table()
        for _ in range(2):
            assert routes.match("SHOP.example.com:443", "/shop/x") == "shop"
            assert routes.match("nobody.example", "/") is None

    def test_many_distinct_hosts_do_not_grow_the_table(self) -> None:
        """Anyone may send any Host: the remembered values stay bounded, and matching stays right."""
        routes = table()
        for n in range(5000):
            assert routes.match(f"h{n}.example", "/") is None
        assert len(routes._seen) <= 1024
        assert routes.match("shop.example.com", "/") == "root"
