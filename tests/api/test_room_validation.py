"""Every rule a room body must follow; each rejected request leaves the store unchanged."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.api.support import Api, assert_rejected, errors_of

VALID = {"name": "shop", "host": "shop.example.com", "new_users_per_minute": 200, "total_active_users": 300}


def room(**fields: Any) -> dict[str, Any]:
    """A valid room body with some fields changed."""
    return {**VALID, **fields}


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("total_active_users", 199, "greater than or equal to 200"),
        ("total_active_users", 2_147_483_648, "less than or equal to 2147483647"),
        ("new_users_per_minute", 199, "greater than or equal to 200"),
        ("new_users_per_minute", 2_147_483_648, "less than or equal to 2147483647"),
        ("session_duration", 0, "greater than or equal to 1"),
        ("session_duration", 31, "less than or equal to 30"),
        ("queueing_status_code", 201, "200, 202 or 429"),
        ("queueing_status_code", 200.0, "integer"),
        ("queueing_method", "lifo", "'fifo'"),
        ("turnstile_mode", "always", "'invisible'"),
        ("turnstile_action", "block", "'log'"),
        ("default_template_language", "xx-XX", "'en-US'"),
        ("cookie_attributes", {"samesite": "loose"}, "'strict'"),
        ("cookie_attributes", {"secure": "sometimes"}, "'always'"),
        ("cookie_attributes", {"samesite": "none", "secure": "never"}, "secure may not be never"),
        ("enabled_origin_commands", ["purge"], "'revoke'"),
        ("custom_page_html", "x" * (1_048_576 + 1), "at most 1048576 bytes"),
        ("cookie_suffix", "a b", "only letters"),
        ("custom_page_html", "{{#queueAll}}unclosed", "not a valid Mustache template"),
    ],
)
async def test_ranges_and_enums(api: Api, field: str, value: Any, words: str) -> None:
    """Out-of-range numbers and values outside an enum are 400 (code 1002)."""
    await assert_rejected(api, "POST", api.rooms_url(), room(**{field: value}), 400, 1002, words)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("total_active_users", "300"),
        ("new_users_per_minute", 250.5),
        ("session_duration", True),
        ("queue_all", 1),
        ("suspended", "true"),
        ("name", 5),
        ("host", ["shop.example.com"]),
        ("additional_routes", {"host": "a.example.com"}),
        ("description", None),
    ],
)
async def test_wrong_types(api: Api, field: str, value: Any) -> None:
    """A JSON value of the wrong type is a 400 naming the field, never coerced."""
    await assert_rejected(api, "POST", api.rooms_url(), room(**{field: value}), 400, 1002, field)


@pytest.mark.parametrize("field", ["name", "host", "new_users_per_minute", "total_active_users"])
async def test_required_fields(api: Api, field: str) -> None:
    """Create without a required field is a 400 with code 1003."""
    body = dict(VALID)
    del body[field]
    await assert_rejected(api, "POST", api.rooms_url(), body, 400, 1003, field)


@pytest.mark.parametrize("name", ["my room", "shop!", "", "caf\u00e9", "a.b"])
async def test_name_charset(api: Api, name: str) -> None:
    """Names are letters, digits, '-' and '_' only."""
    await assert_rejected(api, "POST", api.rooms_url(), room(name=name), 400, 1002, "only letters")


@pytest.mark.parametrize(
    ("host", "words"),
    [
        ("https://shop.example.com", "scheme"),
        ("*.example.com", "wildcard"),
        ("shop.example.com:8443", "without port"),
        ("shop.example.com/x", "without port or path"),
        ("shop..example.com", "valid hostname"),
        ("shop.other.com", "not in the zone"),
        ("notexample.com", "not in the zone"),
    ],
)
async def test_host_rules(api: Api, host: str, words: str) -> None:
    """Hosts have no scheme, wildcard, port or path, and lie inside the room's zone."""
    await assert_rejected(api, "POST", api.rooms_url(), room(host=host), 400, 1002, words)


async def test_additional_route_host_must_be_in_zone(api: Api) -> None:
    """Additional routes follow the same host rules as the primary route."""
    body = room(cookie_suffix="s", additional_routes=[{"host": "x.other.com"}])
    await assert_rejected(api, "POST", api.rooms_url(), body, 400, 1002, "not in the zone")


@pytest.mark.parametrize(
    ("path", "words"),
    [("shop", "start with '/'"), ("/shop/*", "wildcard"), ("/shop?x=1", "query string"), ("/a b", "whitespace")],
)
async def test_path_rules(api: Api, path: str, words: str) -> None:
    """Paths start with '/', and have no wildcard or query string."""
    await assert_rejected(api, "POST", api.rooms_url(), room(path=path), 400, 1002, words)


async def test_new_users_per_minute_at_most_total_active_users(api: Api) -> None:
    """new_users_per_minute may not exceed total_active_users (equal is fine)."""
    body = room(new_users_per_minute=301, total_active_users=300)
    await assert_rejected(api, "POST", api.rooms_url(), body, 400, 1004, "must not be greater")
    assert (await api.create_room(new_users_per_minute=300, total_active_users=300))["new_users_per_minute"] == 300


async def test_cookie_suffix_required_with_additional_routes(api: Api) -> None:
    """A room with additional routes needs a cookie_suffix."""
    body = room(additional_routes=[{"host": "www.example.com", "path": "/shop"}])
    await assert_rejected(api, "POST", api.rooms_url(), body, 400, 1004, "cookie_suffix is required")


class TestRouteUniqueness:
    async def test_same_primary_route(self, api: Api) -> None:
        """Two rooms cannot share a primary (host, path)."""
        await api.create_room()
        await assert_rejected(api, "POST", api.rooms_url(), room(name="b"), 400, 1004, "already belongs")

    async def test_host_is_case_insensitive(self, api: Api) -> None:
        """SHOP.example.com and shop.example.com are the same host."""
        await api.create_room()
        body = room(name="b", host="SHOP.Example.com")
        await assert_rejected(api, "POST", api.rooms_url(), body, 400, 1004, "already belongs")

    async def test_path_is_case_sensitive(self, api: Api) -> None:
        """/Shop and /shop are different routes."""
        await api.create_room(path="/shop")
        assert (await api.create_room(name="b", path="/Shop"))["path"] == "/Shop"

    async def test_primary_against_additional(self, api: Api) -> None:
        """A new room's primary route may not be another room's additional route."""
        await api.create_room(cookie_suffix="a", additional_routes=[{"host": "www.example.com", "path": "/x"}])
        body = room(name="b", host="www.example.com", path="/x")
        await assert_rejected(api, "POST", api.rooms_url(), body, 400, 1004, "already belongs")

    async def test_additional_against_primary(self, api: Api) -> None:
        """A new room's additional route may not be another room's primary route."""
        await api.create_room()
        body = room(name="b", host="b.example.com", cookie_suffix="b", additional_routes=[{"host": "shop.example.com"}])
        await assert_rejected(api, "POST", api.rooms_url(), body, 400, 1004, "already belongs")

    async def test_duplicate_within_one_room(self, api: Api) -> None:
        """A room cannot list the same route twice."""
        body = room(cookie_suffix="a", additional_routes=[{"host": "shop.example.com", "path": "/"}])
        await assert_rejected(api, "POST", api.rooms_url(), body, 400, 1004, "listed twice")

    async def test_routes_unique_across_zones(self, api: Api) -> None:
        """Uniqueness holds across every room, whatever its zone."""
        await api.create_room()
        other = await api.add_zone("shop.example.com")
        body = room(name="b")
        await assert_rejected(api, "POST", api.rooms_url(other), body, 400, 1004, "already belongs")

    async def test_patch_onto_taken_route(self, api: Api) -> None:
        """An edit that would take another room's route is rejected and changes nothing."""
        await api.create_room()
        second = await api.create_room(name="b", path="/b")
        await assert_rejected(api, "PATCH", api.room_url(second["id"]), {"path": "/"}, 400, 1004, "already belongs")


async def test_name_unique_in_zone(api: Api) -> None:
    """Two rooms of a zone cannot share a name."""
    await api.create_room()
    await assert_rejected(api, "POST", api.rooms_url(), room(path="/other"), 400, 1004, "already exists")


async def test_samesite_none_with_secure_always_is_fine(api: Api) -> None:
    """SameSite=None is accepted with a Secure cookie (only the pair with secure never is refused)."""
    created = await api.create_room(cookie_attributes={"samesite": "none", "secure": "always"})
    assert created["cookie_attributes"] == {"samesite": "none", "secure": "always"}


class TestPatchAndPut:
    async def test_patch_with_invalid_value(self, api: Api) -> None:
        """A PATCH with an out-of-range value is rejected and changes nothing."""
        created = await api.create_room()
        url = api.room_url(created["id"])
        await assert_rejected(api, "PATCH", url, {"session_duration": 60}, 400, 1002, "session_duration")

    async def test_patch_null_for_a_required_field(self, api: Api) -> None:
        """PATCH cannot null out a field a room must have."""
        created = await api.create_room()
        await assert_rejected(api, "PATCH", api.room_url(created["id"]), {"name": None}, 400, 1002, "name")

    async def test_patch_that_breaks_a_cross_field_rule(self, api: Api) -> None:
        """A PATCH is validated merged: additional routes without the stored (empty) cookie_suffix fail."""
        created = await api.create_room()
        body = {"additional_routes": [{"host": "www.example.com"}]}
        await assert_rejected(api, "PATCH", api.room_url(created["id"]), body, 400, 1004, "cookie_suffix")

    async def test_put_needs_required_fields(self, api: Api) -> None:
        """PUT is a full replace, so the required fields are required again."""
        created = await api.create_room()
        await assert_rejected(api, "PUT", api.room_url(created["id"]), {"name": "x"}, 400, 1003, "host")


class TestMalformedBodies:
    async def test_malformed_json(self, api: Api) -> None:
        """A body that is not JSON is a 400 with code 1001 and changes nothing."""
        before = await api.snapshot()
        response = await api.client.post(
            api.rooms_url(), content=b'{"name": ', headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert errors_of(response)[0] == {"code": 1001, "message": "Malformed JSON in request body"}
        assert await api.snapshot() == before

    async def test_json_that_is_not_an_object(self, api: Api) -> None:
        """A JSON array where an object is expected is a 400 with code 1001."""
        await assert_rejected(api, "POST", api.rooms_url(), [VALID], 400, 1001, "JSON object")

    async def test_missing_body(self, api: Api) -> None:
        """No body at all is a 400."""
        response = await api.client.post(api.rooms_url())
        assert response.status_code == 400
        assert errors_of(response)[0]["code"] in (1001, 1003)

    async def test_every_problem_is_listed(self, api: Api) -> None:
        """All field problems are reported at once, one entry each."""
        body = room(total_active_users=1, session_duration=99)
        response = await api.client.post(api.rooms_url(), json=body)
        messages = " ".join(error["message"] for error in errors_of(response))
        assert "total_active_users" in messages and "session_duration" in messages

    async def test_unknown_fields_are_ignored(self, api: Api) -> None:
        """Fields the API does not know are ignored, as Cloudflare's API does."""
        created = await api.create_room(colour="blue")
        assert "colour" not in created


async def test_concurrent_creates_of_one_route(api: Api) -> None:
    """Of several rooms created at once on the same route, exactly one wins; the rest get 400."""
    bodies = [room(name=f"racer{number}") for number in range(4)]
    responses = await asyncio.gather(*(api.client.post(api.rooms_url(), json=body) for body in bodies))
    assert sorted(response.status_code for response in responses) == [200, 400, 400, 400]
    assert len((await api.snapshot())["rooms"]) == 1
