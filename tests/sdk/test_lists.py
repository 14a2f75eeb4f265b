"""Lists through the official SDK: ``client.rules.lists``, its ``items`` and ``bulk_operations``, on both stores."""

from __future__ import annotations

from typing import Any, Literal

import cloudflare
import pytest
from cloudflare.types.rules.lists import item_get_response, item_list_response
from cloudflare.types.rules.lists.bulk_operation_get_response import ListsBulkOperationCompleted

from tests.sdk.support import HEX32, ApiServer, assert_cloudflare_error, raises, unique

Kind = Literal["ip", "redirect", "hostname", "asn"]


def new_list(cf: cloudflare.Cloudflare, api_server: ApiServer, kind: Kind = "ip", **fields: Any) -> str:
    """Create a list with a unique name; return its id."""
    created = cf.rules.lists.create(account_id=api_server.account_id, kind=kind, name=unique("list"), **fields)
    return created.id


def items(cf: cloudflare.Cloudflare, api_server: ApiServer, list_id: str, **params: Any) -> list[Any]:
    """Every item of the list, the SDK following the cursors."""
    return list(cf.rules.lists.items.list(list_id, account_id=api_server.account_id, **params))


def ips(cf: cloudflare.Cloudflare, api_server: ApiServer, list_id: str, **params: Any) -> list[str]:
    """The IPs of an IP list, in list order."""
    return [item.ip for item in items(cf, api_server, list_id, **params)]


def lists_snapshot(cf: cloudflare.Cloudflare, api_server: ApiServer) -> list[dict[str, Any]]:
    """Every list of the account as plain dicts, to compare before and after a refusal."""
    return [found.model_dump() for found in cf.rules.lists.list(account_id=api_server.account_id)]


class TestLists:
    def test_list_lifecycle(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """create, get, list, update (description) and delete work and agree with each other."""
        account = api_server.account_id
        name = unique("office")
        created = cf.rules.lists.create(account_id=account, kind="ip", name=name, description="the office")
        assert HEX32.match(created.id)
        assert (created.name, created.kind, created.description) == (name, "ip", "the office")
        assert (created.num_items, created.num_referencing_filters) == (0, 0)
        assert created.created_on and created.modified_on
        assert cf.rules.lists.get(created.id, account_id=account).model_dump() == created.model_dump()
        assert created.id in [found.id for found in cf.rules.lists.list(account_id=account)]
        updated = cf.rules.lists.update(created.id, account_id=account, description="moved")
        assert (updated.id, updated.name, updated.kind, updated.description) == (created.id, name, "ip", "moved")
        assert cf.rules.lists.delete(created.id, account_id=account).id == created.id
        assert_cloudflare_error(
            raises(cloudflare.NotFoundError, lambda: cf.rules.lists.get(created.id, account_id=account)), 404
        )
        assert created.id not in [found.id for found in cf.rules.lists.list(account_id=account)]

    @pytest.mark.parametrize(
        ("name", "kind"),
        [
            ("Office", "ip"),
            ("office-ips", "ip"),
            ("a" * 51, "ip"),
            ("", "ip"),
            ("office", "country"),
        ],
    )
    def test_bad_list_is_refused(self, cf: cloudflare.Cloudflare, api_server: ApiServer, name: str, kind: Any) -> None:
        """A bad name or kind is a 400 in the envelope, and no list is created."""
        before = lists_snapshot(cf, api_server)
        err = raises(
            cloudflare.BadRequestError,
            lambda: cf.rules.lists.create(account_id=api_server.account_id, kind=kind, name=name),
        )
        code, _ = assert_cloudflare_error(err, 400)
        assert code == 1002
        assert lists_snapshot(cf, api_server) == before

    def test_duplicate_name_is_refused(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A second list with a name the account already uses is a 400 naming the clash, changing nothing."""
        name = unique("dup")
        cf.rules.lists.create(account_id=api_server.account_id, kind="ip", name=name)
        before = lists_snapshot(cf, api_server)
        err = raises(
            cloudflare.BadRequestError,
            lambda: cf.rules.lists.create(account_id=api_server.account_id, kind="asn", name=name),
        )
        code, message = assert_cloudflare_error(err, 400)
        assert code == 1004 and "already exists" in message
        assert lists_snapshot(cf, api_server) == before

    def test_unknown_list_is_404(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Every call on a list id that does not exist is a 404 with code 1005, changing nothing."""
        account, missing = api_server.account_id, "0" * 32
        before = lists_snapshot(cf, api_server)
        for call in (
            lambda: cf.rules.lists.get(missing, account_id=account),
            lambda: cf.rules.lists.update(missing, account_id=account, description="x"),
            lambda: cf.rules.lists.delete(missing, account_id=account),
            lambda: cf.rules.lists.items.list(missing, account_id=account),
            lambda: cf.rules.lists.items.create(missing, account_id=account, body=[{"ip": "192.0.2.1"}]),
            lambda: cf.rules.lists.items.update(missing, account_id=account, body=[{"ip": "192.0.2.1"}]),
            lambda: cf.rules.lists.items.delete(missing, account_id=account, items=[]),
            lambda: cf.rules.lists.items.get("1" * 32, account_id=account, list_id=missing),
        ):
            code, message = assert_cloudflare_error(raises(cloudflare.NotFoundError, call), 404)
            assert (code, message) == (1005, "list not found")
        assert lists_snapshot(cf, api_server) == before

    def test_unknown_account_is_404(self, cf: cloudflare.Cloudflare) -> None:
        """Lists of an account that does not exist are a 404 with code 7003."""
        err = raises(cloudflare.NotFoundError, lambda: cf.rules.lists.list(account_id="9" * 32))
        assert assert_cloudflare_error(err, 404)[0] == 7003

    def test_read_token_reads_only(
        self, cf: cloudflare.Cloudflare, reader: cloudflare.Cloudflare, api_server: ApiServer
    ) -> None:
        """A read token lists lists and items; creating a list or items with it is a 403 that changes nothing."""
        list_id = new_list(cf, api_server)
        assert list_id in [found.id for found in reader.rules.lists.list(account_id=api_server.account_id)]
        assert items(reader, api_server, list_id) == []
        before = lists_snapshot(cf, api_server)
        for call in (
            lambda: reader.rules.lists.create(account_id=api_server.account_id, kind="ip", name=unique("no")),
            lambda: reader.rules.lists.items.create(
                list_id, account_id=api_server.account_id, body=[{"ip": "192.0.2.1"}]
            ),
        ):
            assert_cloudflare_error(raises(cloudflare.PermissionDeniedError, call), 403)
        assert lists_snapshot(cf, api_server) == before

    def test_zone_limited_token_is_403(self, zone_writer: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A token limited to a zone may not use account-level lists at all."""
        err = raises(
            cloudflare.PermissionDeniedError, lambda: zone_writer.rules.lists.list(account_id=api_server.account_id)
        )
        assert_cloudflare_error(err, 403)


class TestItems:
    def test_append_replace_delete(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """items.create appends, items.update replaces all, items.delete removes by id; each operation is completed."""
        account = api_server.account_id
        list_id = new_list(cf, api_server)
        operations = []
        created = cf.rules.lists.items.create(
            list_id, account_id=account, body=[{"ip": "192.0.2.1", "comment": "door"}, {"ip": "2001:DB8::/32"}]
        )
        operations.append(created.operation_id)
        assert ips(cf, api_server, list_id) == ["192.0.2.1", "2001:db8::/32"]
        assert cf.rules.lists.get(list_id, account_id=account).num_items == 2
        replaced = cf.rules.lists.items.update(
            list_id, account_id=account, body=[{"ip": "198.51.100.0/24"}, {"ip": "203.0.113.7"}, {"ip": "10.0.0.1"}]
        )
        operations.append(replaced.operation_id)
        current = items(cf, api_server, list_id)
        assert [item.ip for item in current] == ["198.51.100.0/24", "203.0.113.7", "10.0.0.1"]
        deleted = cf.rules.lists.items.delete(
            list_id, account_id=account, items=[{"id": current[0].id}, {"id": current[2].id}]
        )
        operations.append(deleted.operation_id)
        assert ips(cf, api_server, list_id) == ["203.0.113.7"]
        for operation_id in operations:
            assert HEX32.match(operation_id)
            status = cf.rules.lists.bulk_operations.get(operation_id, account_id=account)
            assert isinstance(status, ListsBulkOperationCompleted)
            assert (status.id, status.status) == (operation_id, "completed") and status.completed

    def test_get_one_item(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """items.get returns the item with its comment and timestamps; an unknown item id is a 404."""
        account = api_server.account_id
        list_id = new_list(cf, api_server)
        cf.rules.lists.items.create(list_id, account_id=account, body=[{"ip": "192.0.2.1", "comment": "door"}])
        (listed,) = items(cf, api_server, list_id)
        item = cf.rules.lists.items.get(listed.id, account_id=account, list_id=list_id)
        assert isinstance(item, item_get_response.ListsListItemIPFull)
        assert (item.id, item.ip, item.comment) == (listed.id, "192.0.2.1", "door")
        assert item.created_on and item.modified_on
        err = raises(
            cloudflare.NotFoundError, lambda: cf.rules.lists.items.get("2" * 32, account_id=account, list_id=list_id)
        )
        assert assert_cloudflare_error(err, 404) == (1005, "list item not found")

    def test_each_kind_parses_as_its_sdk_type(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """ASN, hostname and redirect items come back in the shapes the SDK parses into their own types."""
        account = api_server.account_id
        asn_list = new_list(cf, api_server, "asn")
        cf.rules.lists.items.create(asn_list, account_id=account, body=[{"asn": 13335, "comment": "cf"}])
        (asn,) = items(cf, api_server, asn_list)
        assert isinstance(asn, item_list_response.ListsListItemASNFull) and (asn.asn, asn.comment) == (13335, "cf")
        host_list = new_list(cf, api_server, "hostname")
        cf.rules.lists.items.create(
            host_list,
            account_id=account,
            body=[{"hostname": {"url_hostname": "*.Example.com", "exclude_exact_hostname": False}}],
        )
        (host,) = items(cf, api_server, host_list)
        assert isinstance(host, item_list_response.ListsListItemHostnameFull)
        assert (host.hostname.url_hostname, host.hostname.exclude_exact_hostname) == ("*.example.com", False)
        redirect_list = new_list(cf, api_server, "redirect")
        cf.rules.lists.items.create(
            redirect_list,
            account_id=account,
            body=[{"redirect": {"source_url": "example.com/old", "target_url": "https://example.com/new"}}],
        )
        (redirect,) = items(cf, api_server, redirect_list)
        assert isinstance(redirect, item_list_response.ListsListItemRedirectFull)
        assert (redirect.redirect.source_url, redirect.redirect.target_url) == (
            "example.com/old",
            "https://example.com/new",
        )
        assert (redirect.redirect.status_code, redirect.redirect.subpath_matching) == (301, False)

    @pytest.mark.parametrize(
        "bad",
        [
            {"ip": "192.0.2.300"},
            {"ip": "192.0.2.1/24"},
            {"ip": "10.0.0.0/7"},
            {"ip": "2001:db8::/11"},
            {"asn": 13335},
        ],
    )
    def test_bad_item_is_refused(self, cf: cloudflare.Cloudflare, api_server: ApiServer, bad: Any) -> None:
        """A bad item, sent with good ones, is a 400 on create and update, and the list keeps its items."""
        account = api_server.account_id
        list_id = new_list(cf, api_server)
        cf.rules.lists.items.create(list_id, account_id=account, body=[{"ip": "192.0.2.1"}])
        before = [item.model_dump() for item in items(cf, api_server, list_id)]
        for call in (
            lambda: cf.rules.lists.items.create(list_id, account_id=account, body=[{"ip": "192.0.2.2"}, bad]),
            lambda: cf.rules.lists.items.update(list_id, account_id=account, body=[{"ip": "192.0.2.2"}, bad]),
        ):
            code, message = assert_cloudflare_error(raises(cloudflare.BadRequestError, call), 400)
            assert code == 1002 and message.startswith("1")
        assert [item.model_dump() for item in items(cf, api_server, list_id)] == before
        assert cf.rules.lists.get(list_id, account_id=account).num_items == 1

    def test_unknown_bulk_operation_is_404(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """bulk_operations.get of an id never returned is a 404 in the envelope."""
        err = raises(
            cloudflare.NotFoundError,
            lambda: cf.rules.lists.bulk_operations.get("3" * 32, account_id=api_server.account_id),
        )
        assert assert_cloudflare_error(err, 404) == (1005, "bulk operation not found")


class TestPages:
    def test_sdk_follows_cursors(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """With per_page 5, twelve items come in pages of 5, 5 and 2, and iteration yields all in order."""
        account = api_server.account_id
        list_id = new_list(cf, api_server)
        addresses = [f"192.0.2.{n}" for n in range(1, 13)]
        cf.rules.lists.items.create(list_id, account_id=account, body=[{"ip": ip} for ip in addresses])
        first = cf.rules.lists.items.list(list_id, account_id=account, per_page=5)
        sizes = [len(page.result) for page in first.iter_pages()]
        assert sizes == [5, 5, 2]
        assert ips(cf, api_server, list_id, per_page=5) == addresses

    def test_search(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """search keeps the IPs that start with it, across pages."""
        account = api_server.account_id
        list_id = new_list(cf, api_server)
        addresses = [f"192.0.2.{n}" for n in range(1, 13)]
        cf.rules.lists.items.create(list_id, account_id=account, body=[{"ip": ip} for ip in addresses])
        assert ips(cf, api_server, list_id, search="192.0.2.1", per_page=2) == [
            "192.0.2.1",
            "192.0.2.10",
            "192.0.2.11",
            "192.0.2.12",
        ]

    async def test_async_client_follows_cursors(self, api_server: ApiServer) -> None:
        """AsyncCloudflare creates items and pages through them with ``async for``."""
        async with cloudflare.AsyncCloudflare(
            api_token=api_server.write_token, base_url=api_server.base_url, max_retries=0, timeout=30
        ) as client:
            account = api_server.account_id
            created = await client.rules.lists.create(account_id=account, kind="asn", name=unique("async"))
            await client.rules.lists.items.create(
                created.id, account_id=account, body=[{"asn": number} for number in range(64496, 64503)]
            )
            seen = [item async for item in client.rules.lists.items.list(created.id, account_id=account, per_page=3)]
            assert all(isinstance(item, item_list_response.ListsListItemASNFull) for item in seen)
            assert [getattr(item, "asn", None) for item in seen] == list(range(64496, 64503))
