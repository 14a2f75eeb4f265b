"""Lists (account level): lists, strictly checked items, cursor pages, bulk operations, and what gateways read."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import insert

from antechamber.api.models.lists import MAX_ITEMS_PER_LIST, MAX_LISTS_PER_ACCOUNT
from antechamber.db import lists, tables
from antechamber.db.accounts import DEFAULT_ACCOUNT_ID
from antechamber.db.ids import format_timestamp, new_id
from antechamber.db.revision import current_revision
from tests.api.support import T0, Api, assert_rejected, errors_of

HEX32 = re.compile(r"^[0-9a-f]{32}$")
LISTS = f"/accounts/{DEFAULT_ACCOUNT_ID}/rules/lists"


async def new_list(api: Api, name: str = "office", kind: str = "ip", **fields: Any) -> dict[str, Any]:
    """Create a list and return its result."""
    response = await api.client.post(LISTS, json={"name": name, "kind": kind, **fields})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    return result


async def change_items(api: Api, list_id: str, body: Any, method: str = "POST") -> str:
    """Send an item change that must succeed; return its operation id."""
    response = await api.client.request(method, f"{LISTS}/{list_id}/items", json=body)
    assert response.status_code == 200, response.text
    operation_id: str = response.json()["result"]["operation_id"]
    return operation_id


async def items_of(api: Api, list_id: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of the list (following cursors), in list order."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = (await api.client.get(f"{LISTS}/{list_id}/items", params=query)).json()
        found.extend(body["result"])
        cursor = body["result_info"]["cursors"].get("after")
        if not cursor:
            return found


async def get_list(api: Api, list_id: str) -> dict[str, Any]:
    """One list's current result."""
    response = await api.client.get(f"{LISTS}/{list_id}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    return result


async def other_account(api: Api) -> str:
    """A second account in the store; returns its id."""
    account_id = new_id()
    async with api.db.begin() as connection:
        await connection.execute(
            insert(tables.accounts).values(id=account_id, name="other", created_on=format_timestamp(T0))
        )
    return account_id


class TestLists:
    async def test_create_returns_the_list(self, api: Api) -> None:
        """A new list has a 32-hex id, the given name, kind and description, no items and no references."""
        created = await new_list(api, "office_ips", "ip", description="the office")
        assert HEX32.match(created["id"])
        assert {key: value for key, value in created.items() if key != "id"} == {
            "name": "office_ips",
            "kind": "ip",
            "description": "the office",
            "num_items": 0,
            "num_referencing_filters": 0,
            "created_on": "2026-06-01T12:00:00Z",
            "modified_on": "2026-06-01T12:00:00Z",
        }
        assert await get_list(api, created["id"]) == created

    async def test_description_defaults_to_empty(self, api: Api) -> None:
        """Create without a description stores an empty one."""
        assert (await new_list(api))["description"] == ""

    async def test_listing_is_oldest_first(self, api: Api) -> None:
        """GET on the collection returns every list of the account, oldest first, without paging."""
        first = await new_list(api, "a_list", "asn")
        api.clock.advance(seconds=1)
        second = await new_list(api, "b_list", "hostname")
        body = (await api.client.get(LISTS)).json()
        assert [item["id"] for item in body["result"]] == [first["id"], second["id"]]
        assert body.get("result_info") is None

    async def test_update_changes_the_description_only(self, api: Api) -> None:
        """PUT replaces the description; a name or kind sent along is ignored; modified_on moves."""
        created = await new_list(api, description="old")
        api.clock.advance(minutes=5)
        response = await api.client.put(
            f"{LISTS}/{created['id']}", json={"description": "new", "name": "renamed", "kind": "asn"}
        )
        assert response.status_code == 200, response.text
        updated = response.json()["result"]
        assert (updated["name"], updated["kind"], updated["description"]) == ("office", "ip", "new")
        assert (updated["created_on"], updated["modified_on"]) == (created["created_on"], "2026-06-01T12:05:00Z")
        assert await get_list(api, created["id"]) == updated

    async def test_update_without_description_clears_it(self, api: Api) -> None:
        """PUT is a replacement: a body without a description leaves an empty one."""
        created = await new_list(api, description="old")
        response = await api.client.put(f"{LISTS}/{created['id']}", json={})
        assert response.json()["result"]["description"] == ""

    async def test_delete_removes_the_list_and_its_items(self, api: Api) -> None:
        """DELETE answers with the id; the list and its items are gone, and the name is free again."""
        created = await new_list(api)
        await change_items(api, created["id"], [{"ip": "192.0.2.1"}])
        response = await api.client.delete(f"{LISTS}/{created['id']}")
        assert response.json()["result"] == {"id": created["id"]}
        assert (await api.client.get(f"{LISTS}/{created['id']}")).status_code == 404
        snapshot = await api.snapshot()
        assert snapshot["lists"] == [] and snapshot["list_items"] == []
        await new_list(api)

    async def test_delete_refused_while_rules_refer_to_it(self, api: Api) -> None:
        """A list that bypass rules refer to reports them and cannot be deleted until they are gone."""
        created = await new_list(api)
        room = await api.create_room()
        rules_url = api.room_url(room["id"], "/rules")
        expressions = [
            "ip.src in $office",
            'ip.src in $office and http.request.uri.path eq "/admin"',
            'http.user_agent contains "$office"',  # inside a string: no reference
        ]
        body = [{"action": "bypass_waiting_room", "expression": text} for text in expressions]
        assert (await api.client.put(rules_url, json=body)).status_code == 200
        assert (await get_list(api, created["id"]))["num_referencing_filters"] == 2
        await assert_rejected(api, "DELETE", f"{LISTS}/{created['id']}", None, 400, 1004, "referenced by 2")
        assert (await api.client.put(rules_url, json=[])).status_code == 200
        assert (await get_list(api, created["id"]))["num_referencing_filters"] == 0
        assert (await api.client.delete(f"{LISTS}/{created['id']}")).status_code == 200

    @pytest.mark.parametrize(
        ("body", "code", "words"),
        [
            ({"name": "Office", "kind": "ip"}, 1002, "lowercase letters, digits and underscores"),
            ({"name": "office-ips", "kind": "ip"}, 1002, "lowercase letters"),
            ({"name": "", "kind": "ip"}, 1002, "1 to 50"),
            ({"name": "a" * 51, "kind": "ip"}, 1002, "1 to 50"),
            ({"name": "office ips", "kind": "ip"}, 1002, "lowercase letters"),
            ({"name": 5, "kind": "ip"}, 1002, "name"),
            ({"name": "office", "kind": "country"}, 1002, "kind"),
            ({"name": "office", "kind": "IP"}, 1002, "kind"),
            ({"name": "office"}, 1003, "kind: this field is required"),
            ({"kind": "ip"}, 1003, "name: this field is required"),
            ({"name": "office", "kind": "ip", "description": "x" * 501}, 1002, "description"),
            ({"name": "office", "kind": "ip", "description": 7}, 1002, "description"),
            ({"name": "office", "kind": "ip", "description": "a\x00b"}, 1002, "NUL"),
        ],
    )
    async def test_bad_list_is_refused(self, api: Api, body: dict[str, Any], code: int, words: str) -> None:
        """A bad name, kind or description is refused with 400 and creates nothing."""
        await assert_rejected(api, "POST", LISTS, body, 400, code, words)

    async def test_name_of_fifty_characters_is_accepted(self, api: Api) -> None:
        """Fifty lowercase letters, digits and underscores make a valid name."""
        assert (await new_list(api, "a_1" * 16 + "zz"))["name"] == "a_1" * 16 + "zz"

    async def test_duplicate_name_is_refused(self, api: Api) -> None:
        """A second list with a taken name is refused (whatever its kind), changing nothing."""
        await new_list(api, "office", "ip")
        await assert_rejected(api, "POST", LISTS, {"name": "office", "kind": "asn"}, 400, 1004, "already exists")

    async def test_names_are_per_account(self, api: Api) -> None:
        """Two accounts may each have a list of the same name, and neither sees the other's."""
        other = await other_account(api)
        mine = await new_list(api, "office")
        theirs = await api.client.post(f"/accounts/{other}/rules/lists", json={"name": "office", "kind": "asn"})
        assert theirs.status_code == 200, theirs.text
        assert [item["id"] for item in (await api.client.get(LISTS)).json()["result"]] == [mine["id"]]
        assert (await api.client.get(f"/accounts/{other}/rules/lists/{mine['id']}")).status_code == 404

    async def test_too_many_lists_is_refused(self, api: Api) -> None:
        """An account with the maximum number of lists cannot create another."""
        async with api.db.begin() as connection:
            for number in range(MAX_LISTS_PER_ACCOUNT):
                await lists.create_list(connection, DEFAULT_ACCOUNT_ID, f"list_{number}", "ip", "", T0)
        await assert_rejected(api, "POST", LISTS, {"name": "one_more", "kind": "ip"}, 400, 1004, "at most 1000")

    @pytest.mark.parametrize("list_id", ["a" * 32, "not-an-id"])
    async def test_unknown_list_is_404(self, api: Api, list_id: str) -> None:
        """Every call on a list that does not exist gives 404 (code 1005) in the envelope and changes nothing."""
        await new_list(api)
        calls: list[tuple[str, str, Any]] = [
            ("GET", "", None),
            ("PUT", "", {"description": "x"}),
            ("DELETE", "", None),
            ("GET", "/items", None),
            ("POST", "/items", [{"ip": "192.0.2.1"}]),
            ("PUT", "/items", [{"ip": "192.0.2.1"}]),
            ("DELETE", "/items", {"items": []}),
            ("GET", f"/items/{'b' * 32}", None),
        ]
        for method, suffix, body in calls:
            await assert_rejected(api, method, f"{LISTS}/{list_id}{suffix}", body, 404, 1005, "list not found")

    @pytest.mark.parametrize("account_id", ["c" * 32, "nope"])
    async def test_unknown_account_is_404(self, api: Api, account_id: str) -> None:
        """Lists of an account that does not exist give 404 with code 7003."""
        url = f"/accounts/{account_id}/rules/lists"
        await assert_rejected(api, "POST", url, {"name": "office", "kind": "ip"}, 404, 7003, "Could not route")
        assert errors_of(await api.client.get(url))[0]["code"] == 7003

    async def test_zone_limited_token_is_403(self, api: Api) -> None:
        """A token limited to some zones may neither read nor change account-level lists."""
        headers = {"Authorization": f"Bearer {await api.token('write', [api.zone_id])}"}
        for method, body in (("GET", None), ("POST", {"name": "office", "kind": "ip"})):
            response = await api.client.request(method, LISTS, json=body, headers=headers)
            assert response.status_code == 403
            assert errors_of(response)[0]["code"] == 10000

    async def test_read_token_reads_but_cannot_write(self, api: Api) -> None:
        """A read token lists lists and items but gets 403 on writes, which change nothing."""
        created = await new_list(api)
        headers = {"Authorization": f"Bearer {await api.token('read')}"}
        assert (await api.client.get(LISTS, headers=headers)).status_code == 200
        assert (await api.client.get(f"{LISTS}/{created['id']}/items", headers=headers)).status_code == 200
        before = await api.snapshot()
        response = await api.client.post(f"{LISTS}/{created['id']}/items", json=[{"ip": "192.0.2.1"}], headers=headers)
        assert response.status_code == 403
        assert await api.snapshot() == before


class TestItems:
    async def test_append_applies_at_once(self, api: Api) -> None:
        """POST items returns a completed operation; the items, count and modified_on show the change at once."""
        created = await new_list(api)
        api.clock.advance(minutes=1)
        operation_id = await change_items(
            api, created["id"], [{"ip": "192.0.2.1", "comment": "door"}, {"ip": "10.0.0.0/8"}]
        )
        assert HEX32.match(operation_id)
        operation = (await api.client.get(f"{LISTS}/bulk_operations/{operation_id}")).json()["result"]
        assert operation == {"id": operation_id, "status": "completed", "completed": "2026-06-01T12:01:00Z"}
        items = await items_of(api, created["id"])
        assert [(item["ip"], item.get("comment")) for item in items] == [("192.0.2.1", "door"), ("10.0.0.0/8", None)]
        assert all(HEX32.match(item["id"]) for item in items)
        assert all(item["created_on"] == item["modified_on"] == "2026-06-01T12:01:00Z" for item in items)
        assert all(set(item) <= {"id", "ip", "comment", "created_on", "modified_on"} for item in items)
        listed = await get_list(api, created["id"])
        assert (listed["num_items"], listed["modified_on"]) == (2, "2026-06-01T12:01:00Z")

    async def test_append_keeps_existing_items(self, api: Api) -> None:
        """A second POST appends after the items already there."""
        created = await new_list(api)
        await change_items(api, created["id"], [{"ip": "192.0.2.1"}])
        await change_items(api, created["id"], [{"ip": "192.0.2.2"}])
        assert [item["ip"] for item in await items_of(api, created["id"])] == ["192.0.2.1", "192.0.2.2"]

    async def test_same_value_merges_into_one_item(self, api: Api) -> None:
        """Appending a value already in the list updates that item's comment; its id, place and created_on stay."""
        created = await new_list(api)
        await change_items(api, created["id"], [{"ip": "192.0.2.1", "comment": "old"}, {"ip": "192.0.2.2"}])
        before = await items_of(api, created["id"])
        api.clock.advance(minutes=1)
        await change_items(
            api, created["id"], [{"ip": "192.0.2.1", "comment": "new"}, {"ip": "192.0.2.1", "comment": "newest"}]
        )
        after = await items_of(api, created["id"])
        assert [item["id"] for item in after] == [item["id"] for item in before]
        assert (after[0]["comment"], after[0]["created_on"], after[0]["modified_on"]) == (
            "newest",
            before[0]["created_on"],
            "2026-06-01T12:01:00Z",
        )
        assert (await get_list(api, created["id"]))["num_items"] == 2

    async def test_equal_addresses_written_differently_merge(self, api: Api) -> None:
        """IPv6 is stored lowercase and compressed, so two spellings of one address are one item."""
        created = await new_list(api)
        await change_items(api, created["id"], [{"ip": "2001:DB8:0:0::1"}, {"ip": "2001:db8::1"}])
        assert [item["ip"] for item in await items_of(api, created["id"])] == ["2001:db8::1"]

    async def test_put_replaces_every_item(self, api: Api) -> None:
        """PUT items leaves exactly the given items, all with new ids; PUT [] empties the list."""
        created = await new_list(api)
        await change_items(api, created["id"], [{"ip": "192.0.2.1"}, {"ip": "192.0.2.2"}])
        old_ids = {item["id"] for item in await items_of(api, created["id"])}
        await change_items(api, created["id"], [{"ip": "192.0.2.2"}, {"ip": "198.51.100.0/24"}], "PUT")
        items = await items_of(api, created["id"])
        assert [item["ip"] for item in items] == ["192.0.2.2", "198.51.100.0/24"]
        assert not old_ids & {item["id"] for item in items}
        await change_items(api, created["id"], [], "PUT")
        assert await items_of(api, created["id"]) == []

    async def test_delete_removes_the_named_items(self, api: Api) -> None:
        """DELETE items removes exactly the items named by id."""
        created = await new_list(api)
        await change_items(api, created["id"], [{"ip": f"192.0.2.{n}"} for n in range(1, 5)])
        items = await items_of(api, created["id"])
        await change_items(api, created["id"], {"items": [{"id": items[1]["id"]}, {"id": items[3]["id"]}]}, "DELETE")
        assert [item["ip"] for item in await items_of(api, created["id"])] == ["192.0.2.1", "192.0.2.3"]

    async def test_delete_of_an_unknown_item_changes_nothing(self, api: Api) -> None:
        """DELETE naming an id that is not an item of the list is refused as a whole."""
        created = await new_list(api)
        await change_items(api, created["id"], [{"ip": "192.0.2.1"}])
        (item,) = await items_of(api, created["id"])
        body = {"items": [{"id": item["id"]}, {"id": "d" * 32}]}
        await assert_rejected(api, "DELETE", f"{LISTS}/{created['id']}/items", body, 400, 1002, "items.1.id")
        await assert_rejected(api, "DELETE", f"{LISTS}/{created['id']}/items", {}, 400, 1003, "items")

    async def test_get_one_item(self, api: Api) -> None:
        """GET items/{id} returns the item; an id of another list's item, or none, gives 404."""
        first = await new_list(api, "first")
        second = await new_list(api, "second")
        await change_items(api, first["id"], [{"ip": "192.0.2.1", "comment": "c"}])
        (item,) = await items_of(api, first["id"])
        assert (await api.client.get(f"{LISTS}/{first['id']}/items/{item['id']}")).json()["result"] == item
        for url in (f"{LISTS}/{second['id']}/items/{item['id']}", f"{LISTS}/{first['id']}/items/{'e' * 32}"):
            response = await api.client.get(url)
            assert response.status_code == 404
            assert errors_of(response)[0] == {"code": 1005, "message": "list item not found"}

    @pytest.mark.parametrize(
        ("kind", "given", "shown"),
        [
            ("asn", {"asn": 13335}, {"asn": 13335}),
            ("asn", {"asn": 0}, {"asn": 0}),
            ("asn", {"asn": 4294967295}, {"asn": 4294967295}),
            (
                "hostname",
                {"hostname": {"url_hostname": "Shop.Example.com"}},
                {"hostname": {"url_hostname": "shop.example.com"}},
            ),
            (
                "hostname",
                {"hostname": {"url_hostname": "*.example.com", "exclude_exact_hostname": False}},
                {"hostname": {"url_hostname": "*.example.com", "exclude_exact_hostname": False}},
            ),
            (
                "redirect",
                {"redirect": {"source_url": "example.com/old", "target_url": "https://example.com/new"}},
                {
                    "redirect": {
                        "source_url": "example.com/old",
                        "target_url": "https://example.com/new",
                        "status_code": 301,
                        "include_subdomains": False,
                        "subpath_matching": False,
                        "preserve_query_string": False,
                        "preserve_path_suffix": False,
                    }
                },
            ),
            (
                "redirect",
                {
                    "redirect": {
                        "source_url": "https://example.com/a",
                        "target_url": "https://example.com/b?x=1",
                        "status_code": 308,
                        "subpath_matching": True,
                    }
                },
                {
                    "redirect": {
                        "source_url": "https://example.com/a",
                        "target_url": "https://example.com/b?x=1",
                        "status_code": 308,
                        "include_subdomains": False,
                        "subpath_matching": True,
                        "preserve_query_string": False,
                        "preserve_path_suffix": False,
                    }
                },
            ),
        ],
    )
    async def test_item_of_each_kind(self, api: Api, kind: str, given: dict[str, Any], shown: dict[str, Any]) -> None:
        """Each kind's item is stored canonically and shown with only its own field, defaults filled in."""
        created = await new_list(api, kind=kind)
        await change_items(api, created["id"], [given])
        (item,) = await items_of(api, created["id"])
        assert {key: value for key, value in item.items() if key not in ("id", "created_on", "modified_on")} == shown

    @pytest.mark.parametrize(
        ("given", "shown"),
        [
            ("192.0.2.1", "192.0.2.1"),
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("192.0.2.1/32", "192.0.2.1/32"),
            ("2001:DB8::1", "2001:db8::1"),
            ("2000::/12", "2000::/12"),
            ("2001:db8::/32", "2001:db8::/32"),
            ("2001:db8::1/128", "2001:db8::1/128"),
        ],
    )
    async def test_ip_forms_accepted(self, api: Api, given: str, shown: str) -> None:
        """IPv4 and IPv6 addresses and CIDRs within Cloudflare's prefix ranges are accepted, canonically."""
        created = await new_list(api)
        await change_items(api, created["id"], [{"ip": given}])
        assert [item["ip"] for item in await items_of(api, created["id"])] == [shown]

    @pytest.mark.parametrize(
        ("kind", "item", "words"),
        [
            ("ip", {"ip": "300.1.1.1"}, "not an IPv4 or IPv6 address"),
            ("ip", {"ip": "example.com"}, "not an IPv4 or IPv6 address"),
            ("ip", {"ip": "10.0.0.0/7"}, "from /8 to /32"),
            ("ip", {"ip": "10.0.0.0/33"}, "from /8 to /32"),
            ("ip", {"ip": "2000::/11"}, "from /12 to /128"),
            ("ip", {"ip": "10.0.0.0/255.0.0.0"}, "from /8 to /32"),
            ("ip", {"ip": "192.0.2.1/24"}, "host bits set: write the network address, 192.0.2.0/24"),
            ("ip", {"ip": " 192.0.2.1"}, "no spaces"),
            ("ip", {"ip": "fe80::1%eth0"}, "zone ids"),
            ("ip", {"ip": "010.0.0.1"}, "not an IPv4 or IPv6 address"),
            ("ip", {"ip": 3232235777}, "ip"),
            ("ip", {"asn": 13335}, "needs the 'ip' field"),
            ("ip", {"ip": "192.0.2.1", "asn": 13335}, "must not also have 'asn'"),
            ("ip", {"comment": "no value"}, "needs the 'ip' field"),
            ("ip", {"ip": "192.0.2.1", "comment": "x" * 501}, "comment"),
            ("asn", {"asn": -1}, "asn"),
            ("asn", {"asn": 4294967296}, "asn"),
            ("asn", {"asn": "13335"}, "asn"),
            ("asn", {"asn": True}, "asn"),
            ("asn", {"asn": 1.5}, "asn"),
            ("hostname", {"hostname": "example.com"}, "hostname"),
            ("hostname", {"hostname": {"url_hostname": "exa mple.com"}}, "not a hostname"),
            ("hostname", {"hostname": {"url_hostname": "ex*ample.com"}}, "not a hostname"),
            ("hostname", {"hostname": {"url_hostname": "shop.*.example.com"}}, "not a hostname"),
            ("hostname", {"hostname": {"url_hostname": "*.com"}}, "not a hostname"),
            ("hostname", {"hostname": {"url_hostname": "example"}}, "not a hostname"),
            ("hostname", {"hostname": {"url_hostname": "-bad.example.com"}}, "not a hostname"),
            ("hostname", {"hostname": {"url_hostname": "example.com."}}, "not a hostname"),
            ("hostname", {"hostname": {}}, "url_hostname: this field is required"),
            ("hostname", {"ip": "192.0.2.1"}, "needs the 'hostname' field"),
            ("redirect", {"redirect": {"source_url": "example.com/a", "target_url": "example.com/b"}}, "scheme"),
            ("redirect", {"redirect": {"source_url": "example.com/a?x=1", "target_url": "https://e.com/"}}, "query"),
            ("redirect", {"redirect": {"source_url": "example.com:8080/a", "target_url": "https://e.com/"}}, "port"),
            ("redirect", {"redirect": {"source_url": "ftp://example.com/a", "target_url": "https://e.com/"}}, "http"),
            ("redirect", {"redirect": {"source_url": "/a", "target_url": "https://e.com/"}}, "not a hostname"),
            (
                "redirect",
                {"redirect": {"source_url": "example.com/a", "target_url": "https://e.com/", "status_code": 303}},
                "status_code",
            ),
            (
                "redirect",
                {
                    "redirect": {
                        "source_url": "example.com/a",
                        "target_url": "https://e.com/?q=1",
                        "preserve_query_string": True,
                    }
                },
                "preserve_query_string is false",
            ),
            ("redirect", {"redirect": {"source_url": "example.com/a"}}, "target_url: this field is required"),
        ],
    )
    async def test_bad_item_is_refused(self, api: Api, kind: str, item: dict[str, Any], words: str) -> None:
        """An item that is malformed, or not of the list's kind, is refused with 400 and the list stays as it was."""
        created = await new_list(api, kind=kind)
        good = {"ip": {"ip": "192.0.2.9"}, "asn": {"asn": 1}, "hostname": {"hostname": {"url_hostname": "a.example"}}}
        if kind in good:
            await change_items(api, created["id"], [good[kind]])
        url = f"{LISTS}/{created['id']}/items"
        code = 1003 if words.endswith("this field is required") else 1002  # missing fields have their own code
        for method in ("POST", "PUT"):
            # The bad item comes second: the good one before it must not be stored either.
            body = [
                good.get(kind, {"redirect": {"source_url": "x.example/a", "target_url": "https://x.example/"}}),
                item,
            ]
            await assert_rejected(api, method, url, body, 400, code, words)

    async def test_body_must_be_an_array(self, api: Api) -> None:
        """Items are sent as a JSON array; an object is refused with code 1001."""
        created = await new_list(api)
        url = f"{LISTS}/{created['id']}/items"
        await assert_rejected(api, "POST", url, {"ip": "192.0.2.1"}, 400, 1001, "JSON array")

    async def test_item_limit(self, api: Api) -> None:
        """A list holds at most 10,000 items: a change that would leave more is refused whole; merges still work."""
        created = await new_list(api)
        url = f"{LISTS}/{created['id']}/items"
        addresses = [{"ip": f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"} for n in range(MAX_ITEMS_PER_LIST + 1)]
        await assert_rejected(api, "PUT", url, addresses, 400, 1004, "at most 10000 items")
        await change_items(api, created["id"], addresses[:MAX_ITEMS_PER_LIST], "PUT")
        await assert_rejected(api, "POST", url, addresses[-1:], 400, 1004, "would leave 10001")
        await change_items(api, created["id"], [{"ip": "10.0.0.0", "comment": "merged"}])
        assert (await get_list(api, created["id"]))["num_items"] == MAX_ITEMS_PER_LIST


class TestPages:
    @pytest.fixture
    async def twelve(self, api: Api) -> str:
        """A list of 12 addresses, 192.0.2.1 to 192.0.2.12; returns its id."""
        created = await new_list(api)
        await change_items(api, created["id"], [{"ip": f"192.0.2.{n}"} for n in range(1, 13)])
        return str(created["id"])

    async def test_cursor_walks_the_list(self, api: Api, twelve: str) -> None:
        """per_page 5 gives pages of 5, 5 and 2 in list order; only the last page has no 'after' cursor."""
        url = f"{LISTS}/{twelve}/items"
        first = (await api.client.get(url, params={"per_page": 5})).json()
        assert [item["ip"] for item in first["result"]] == [f"192.0.2.{n}" for n in range(1, 6)]
        second = (
            await api.client.get(url, params={"per_page": 5, "cursor": first["result_info"]["cursors"]["after"]})
        ).json()
        assert [item["ip"] for item in second["result"]] == [f"192.0.2.{n}" for n in range(6, 11)]
        third = (
            await api.client.get(url, params={"per_page": 5, "cursor": second["result_info"]["cursors"]["after"]})
        ).json()
        assert [item["ip"] for item in third["result"]] == ["192.0.2.11", "192.0.2.12"]
        assert third["result_info"] == {"cursors": {}}

    async def test_without_per_page_one_page_holds_up_to_500(self, api: Api, twelve: str) -> None:
        """Without per_page every item of a small list comes in one page."""
        body = (await api.client.get(f"{LISTS}/{twelve}/items")).json()
        assert len(body["result"]) == 12 and body["result_info"] == {"cursors": {}}

    async def test_exact_page_has_no_next_cursor(self, api: Api, twelve: str) -> None:
        """When the items fill the page exactly, no 'after' cursor promises a page that would be empty."""
        body = (await api.client.get(f"{LISTS}/{twelve}/items", params={"per_page": 12})).json()
        assert len(body["result"]) == 12 and body["result_info"] == {"cursors": {}}

    @pytest.mark.parametrize(
        ("params", "words"),
        [
            ({"cursor": "garbage"}, "cursor"),
            ({"cursor": "YWZ0ZXI6LTE"}, "cursor"),
            ({"per_page": 0}, "per_page"),
            ({"per_page": 501}, "per_page"),
            ({"per_page": "many"}, "per_page"),
        ],
    )
    async def test_bad_paging_is_400(self, api: Api, twelve: str, params: dict[str, Any], words: str) -> None:
        """A cursor this API did not make, or per_page outside 1 to 500, is a 400."""
        response = await api.client.get(f"{LISTS}/{twelve}/items", params=params)
        assert response.status_code == 400
        assert any(words in error["message"] for error in errors_of(response))

    async def test_search_ip_by_prefix(self, api: Api, twelve: str) -> None:
        """An IP search matches items that start with it, and pages through the matches."""
        assert [item["ip"] for item in await items_of(api, twelve, search="192.0.2.1", per_page=2)] == [
            "192.0.2.1",
            "192.0.2.10",
            "192.0.2.11",
            "192.0.2.12",
        ]
        assert await items_of(api, twelve, search="0.2.1") == []

    async def test_search_hostname_contains_any_case(self, api: Api) -> None:
        """A hostname search matches items containing it in any case; '%' and '_' are plain characters."""
        created = await new_list(api, kind="hostname")
        hosts = ["shop.example.com", "api.example.com", "shop.example.org"]
        await change_items(api, created["id"], [{"hostname": {"url_hostname": host}} for host in hosts])

        async def search(text: str) -> list[str]:
            return [item["hostname"]["url_hostname"] for item in await items_of(api, created["id"], search=text)]

        assert await search("SHOP") == ["shop.example.com", "shop.example.org"]
        assert await search("example.com") == ["shop.example.com", "api.example.com"]
        assert await search("_") == [] and await search("%") == []

    async def test_search_asn_exactly(self, api: Api) -> None:
        """An ASN search matches the ASN equal to it only."""
        created = await new_list(api, kind="asn")
        await change_items(api, created["id"], [{"asn": 13335}, {"asn": 133}])
        assert [item["asn"] for item in await items_of(api, created["id"], search="133")] == [133]


class TestOperations:
    @pytest.mark.parametrize("operation_id", ["f" * 32, "not-an-id"])
    async def test_unknown_operation_is_404(self, api: Api, operation_id: str) -> None:
        """An operation id nobody was given is a 404 in the envelope."""
        response = await api.client.get(f"{LISTS}/bulk_operations/{operation_id}")
        assert response.status_code == 404
        assert errors_of(response)[0] == {"code": 1005, "message": "bulk operation not found"}

    async def test_every_item_change_records_an_operation(self, api: Api) -> None:
        """POST, PUT and DELETE on items each return a distinct operation that reads as completed."""
        created = await new_list(api)
        ids = [
            await change_items(api, created["id"], [{"ip": "192.0.2.1"}]),
            await change_items(api, created["id"], [{"ip": "192.0.2.2"}], "PUT"),
            await change_items(api, created["id"], {"items": []}, "DELETE"),
        ]
        assert len(set(ids)) == 3
        for operation_id in ids:
            result = (await api.client.get(f"{LISTS}/bulk_operations/{operation_id}")).json()["result"]
            assert result["status"] == "completed"

    async def test_operations_are_forgotten_after_a_day(self, api: Api) -> None:
        """An operation stays readable for 24 hours; the next change after that forgets it."""
        created = await new_list(api)
        old = await change_items(api, created["id"], [{"ip": "192.0.2.1"}])
        api.clock.advance(hours=24)
        await change_items(api, created["id"], [{"ip": "192.0.2.2"}])
        assert (await api.client.get(f"{LISTS}/bulk_operations/{old}")).status_code == 200
        api.clock.advance(seconds=1)
        await change_items(api, created["id"], [{"ip": "192.0.2.3"}])
        assert (await api.client.get(f"{LISTS}/bulk_operations/{old}")).status_code == 404

    async def test_operations_are_per_account(self, api: Api) -> None:
        """Another account's path does not show this account's operation."""
        created = await new_list(api)
        operation_id = await change_items(api, created["id"], [{"ip": "192.0.2.1"}])
        other = await other_account(api)
        response = await api.client.get(f"/accounts/{other}/rules/lists/bulk_operations/{operation_id}")
        assert response.status_code == 404


class TestStoreForGateways:
    async def test_every_change_bumps_the_revision(self, api: Api) -> None:
        """Each accepted list or item change bumps the config revision once; reads do not."""

        async def revision() -> int:
            async with api.db.connect() as connection:
                return await current_revision(connection)

        start = await revision()
        created = await new_list(api)
        await api.client.put(f"{LISTS}/{created['id']}", json={"description": "d"})
        operation_id = await change_items(api, created["id"], [{"ip": "192.0.2.1"}])
        await change_items(api, created["id"], [{"ip": "192.0.2.2"}], "PUT")
        await change_items(api, created["id"], {"items": []}, "DELETE")
        await api.client.get(f"{LISTS}/{created['id']}/items")
        await api.client.get(f"{LISTS}/bulk_operations/{operation_id}")
        await api.client.delete(f"{LISTS}/{created['id']}")
        assert await revision() == start + 6

    async def test_list_kinds(self, api: Api) -> None:
        """list_kinds names every list of the account with its kind, and none of another account's."""
        await new_list(api, "office", "ip")
        await new_list(api, "carriers", "asn")
        other = await other_account(api)
        await api.client.post(f"/accounts/{other}/rules/lists", json={"name": "elsewhere", "kind": "hostname"})
        async with api.db.connect() as connection:
            assert await lists.list_kinds(connection, DEFAULT_ACCOUNT_ID) == {"office": "ip", "carriers": "asn"}
            assert await lists.list_kinds(connection, "9" * 32) == {}

    async def test_all_list_items(self, api: Api) -> None:
        """all_list_items gives every account's lists with their kind and values as text, in list order."""
        office = await new_list(api, "office", "ip")
        carriers = await new_list(api, "carriers", "asn")
        hosts = await new_list(api, "hosts", "hostname")
        await new_list(api, "empty", "ip")
        await change_items(api, office["id"], [{"ip": "192.0.2.0/24"}, {"ip": "2001:DB8::1"}])
        await change_items(api, carriers["id"], [{"asn": 13335}, {"asn": 64496}])
        await change_items(
            api,
            hosts["id"],
            [
                {"hostname": {"url_hostname": "Shop.Example.com"}},
                {"hostname": {"url_hostname": "*.sub.example.com"}},
                {"hostname": {"url_hostname": "*.both.example.com", "exclude_exact_hostname": False}},
            ],
        )
        async with api.db.connect() as connection:
            found = await lists.all_list_items(connection)
        assert found == {
            DEFAULT_ACCOUNT_ID: {
                "office": ("ip", ("192.0.2.0/24", "2001:db8::1")),
                "carriers": ("asn", ("13335", "64496")),
                "hosts": (
                    "hostname",
                    ("shop.example.com", "*.sub.example.com", "*.both.example.com", "both.example.com"),
                ),
                "empty": ("ip", ()),
            }
        }


async def test_openapi_documents_the_lists_paths(api: Api) -> None:
    """The OpenAPI document lists every Lists API path."""
    schema = (await api.client.get("/openapi.json")).json()
    paths = {path for path in schema["paths"] if "/rules/lists" in path}
    assert paths == {
        "/client/v4/accounts/{account_id}/rules/lists",
        "/client/v4/accounts/{account_id}/rules/lists/{list_id}",
        "/client/v4/accounts/{account_id}/rules/lists/{list_id}/items",
        "/client/v4/accounts/{account_id}/rules/lists/{list_id}/items/{item_id}",
        "/client/v4/accounts/{account_id}/rules/lists/bulk_operations/{operation_id}",
    }
