"""Bypass rules: every call returns the whole ordered list; positions move rules."""

from __future__ import annotations

from typing import Any

import pytest

from antechamber.rules.validate import MAX_RULES, ExpressionError, validate_expression
from tests.api.support import Api, assert_rejected


def rule(expression: str, **fields: Any) -> dict[str, Any]:
    """A rule body; a bare name ``a`` stands for the valid expression ``http.request.uri.path eq "/a"``."""
    if expression.isidentifier():
        expression = f'http.request.uri.path eq "/{expression}"'
    return {"action": "bypass_waiting_room", "expression": expression, **fields}


def name_of(expression: str) -> str:
    """The name :func:`rule` wrapped in an expression."""
    return expression.removeprefix('http.request.uri.path eq "/').removesuffix('"')


@pytest.fixture
async def rules_url(api: Api) -> str:
    """The rules collection of a fresh room."""
    created = await api.create_room()
    return api.room_url(created["id"], "/rules")


async def expressions(api: Api, url: str) -> list[str]:
    """The room's rule expressions in order."""
    return [name_of(item["expression"]) for item in (await api.client.get(url)).json()["result"]]


async def ids(api: Api, url: str) -> list[str]:
    """The room's rule ids in order."""
    return [item["id"] for item in (await api.client.get(url)).json()["result"]]


class TestCollection:
    async def test_empty_list(self, api: Api, rules_url: str) -> None:
        """A new room has no rules, and the list has no result_info."""
        body = (await api.client.get(rules_url)).json()
        assert body["result"] == []
        assert body.get("result_info") is None

    async def test_create_appends_and_returns_the_list(self, api: Api, rules_url: str) -> None:
        """POST appends at the end and answers with the whole list, defaults filled."""
        await api.client.post(rules_url, json=rule("a"))
        result = (await api.client.post(rules_url, json=rule("b", description="second", enabled=False))).json()
        assert [name_of(item["expression"]) for item in result["result"]] == ["a", "b"]
        first = result["result"][0]
        assert (first["description"], first["enabled"], first["version"]) == ("", True, "1")
        assert first["last_updated"] == "2026-06-01T12:00:00Z"

    async def test_put_replaces_all(self, api: Api, rules_url: str) -> None:
        """PUT replaces the whole list."""
        await api.client.post(rules_url, json=rule("old"))
        result = (await api.client.put(rules_url, json=[rule("x"), rule("y")])).json()["result"]
        assert [name_of(item["expression"]) for item in result] == ["x", "y"]
        assert (await api.client.put(rules_url, json=[])).json()["result"] == []

    async def test_rules_of_unknown_room(self, api: Api) -> None:
        """Rules of a room that does not exist give 404."""
        assert (await api.client.get(api.room_url("c" * 32, "/rules"))).status_code == 404


class TestEdit:
    @pytest.fixture
    async def three(self, api: Api, rules_url: str) -> list[str]:
        """Rules a, b, c in that order; returns their ids."""
        await api.client.put(rules_url, json=[rule("a"), rule("b"), rule("c")])
        return await ids(api, rules_url)

    async def test_patch_fields_bumps_version(self, api: Api, rules_url: str, three: list[str]) -> None:
        """PATCH changes the given fields, keeps the rest and the place, and bumps the version."""
        result = (await api.client.patch(f"{rules_url}/{three[1]}", json={"enabled": False})).json()["result"]
        assert [name_of(item["expression"]) for item in result] == ["a", "b", "c"]
        assert (result[1]["enabled"], result[1]["version"], result[1]["id"]) == (False, "2", three[1])

    @pytest.mark.parametrize(
        ("position", "expected"),
        [
            ({"index": 1}, ["c", "a", "b"]),
            ({"index": 2}, ["a", "c", "b"]),
            ({"index": 3}, ["a", "b", "c"]),
            ({"before": ""}, ["c", "a", "b"]),
            ({"after": ""}, ["a", "b", "c"]),
        ],
    )
    async def test_move_last_rule(
        self, api: Api, rules_url: str, three: list[str], position: dict[str, Any], expected: list[str]
    ) -> None:
        """position index (1-based), before "" (first) and after "" (last) place the rule."""
        await api.client.patch(f"{rules_url}/{three[2]}", json={"position": position})
        assert await expressions(api, rules_url) == expected

    async def test_before_and_after_a_rule(self, api: Api, rules_url: str, three: list[str]) -> None:
        """before/after an id place the rule next to that rule."""
        await api.client.patch(f"{rules_url}/{three[0]}", json={"position": {"after": three[2]}})
        assert await expressions(api, rules_url) == ["b", "c", "a"]
        await api.client.patch(f"{rules_url}/{three[0]}", json={"position": {"before": three[1]}})
        assert await expressions(api, rules_url) == ["a", "b", "c"]

    @pytest.mark.parametrize(
        ("position", "words"),
        [
            ({"index": 0}, "between 1 and 3"),
            ({"index": 4}, "between 1 and 3"),
            ({"before": "f" * 32}, "not another rule"),
            ({"index": 1, "after": ""}, "exactly one"),
            ({}, "exactly one"),
        ],
    )
    async def test_bad_positions(
        self, api: Api, rules_url: str, three: list[str], position: dict[str, Any], words: str
    ) -> None:
        """A position out of range, naming an unknown rule, or ambiguous is rejected and changes nothing."""
        await assert_rejected(api, "PATCH", f"{rules_url}/{three[0]}", {"position": position}, 400, 1002, words)

    async def test_position_relative_to_itself(self, api: Api, rules_url: str, three: list[str]) -> None:
        """A rule cannot be placed relative to itself."""
        body = {"position": {"after": three[0]}}
        await assert_rejected(api, "PATCH", f"{rules_url}/{three[0]}", body, 400, 1002, "not another rule")

    async def test_delete_keeps_order(self, api: Api, rules_url: str, three: list[str]) -> None:
        """DELETE removes one rule and answers with the rest in order."""
        result = (await api.client.delete(f"{rules_url}/{three[1]}")).json()["result"]
        assert [name_of(item["expression"]) for item in result] == ["a", "c"]

    async def test_unknown_rule(self, api: Api, rules_url: str, three: list[str]) -> None:
        """Editing or deleting an unknown rule gives 404 and changes nothing."""
        await assert_rejected(api, "PATCH", f"{rules_url}/{'d' * 32}", {"enabled": False}, 404, 1005, "rule")
        await assert_rejected(api, "DELETE", f"{rules_url}/{'d' * 32}", None, 404, 1005, "rule")


class TestValidation:
    @pytest.mark.parametrize(
        ("body", "code", "words"),
        [
            (rule(""), 1002, "empty"),
            (rule("   "), 1002, "empty"),
            (rule("x" * 4097), 1002, "longer than 4096"),
            (rule('(http.host eq "a"'), 1002, "ends early, expected"),
            (rule("http.host eq 'a')"), 1002, "unexpected"),
            (rule('http.host eq "a'), 1002, "line 1, column 14"),
            (rule('no.such.field eq "x"'), 1002, "unknown field no.such.field (line 1, column 1)"),
            (rule("cf.threat_score gt 1"), 1002, "cannot be used in waiting room rules"),
            (rule("ip.src in $office"), 1002, "unknown list $office"),
            (rule('ip.src.country eq "FR"'), 1002, "--geoip"),
            (rule("http.host eq 1"), 1002, "expected a literal of type Bytes"),
            ({"action": "block", "expression": "a"}, 1002, "bypass_waiting_room"),
            ({"expression": "a"}, 1003, "action"),
            ({"action": "bypass_waiting_room"}, 1003, "expression"),
            (rule("a", enabled="yes"), 1002, "enabled"),
        ],
    )
    async def test_create_rejects(self, api: Api, rules_url: str, body: dict[str, Any], code: int, words: str) -> None:
        """Bad rules are rejected with a 400 and the list is unchanged."""
        await assert_rejected(api, "POST", rules_url, body, 400, code, words)

    async def test_put_is_all_or_nothing(self, api: Api, rules_url: str) -> None:
        """One bad rule in a PUT rejects the whole list."""
        await api.client.post(rules_url, json=rule("keep"))
        await assert_rejected(api, "PUT", rules_url, [rule("ok"), rule("")], 400, 1002, "empty")

    async def test_put_needs_a_list(self, api: Api, rules_url: str) -> None:
        """PUT takes a JSON array of rules."""
        await assert_rejected(api, "PUT", rules_url, rule("a"), 400, 1001, "JSON array")

    async def test_patch_validates_expression(self, api: Api, rules_url: str) -> None:
        """PATCH checks a new expression through the same gate."""
        await api.client.post(rules_url, json=rule("a"))
        rule_id = (await ids(api, rules_url))[0]
        await assert_rejected(api, "PATCH", f"{rules_url}/{rule_id}", {"expression": "(("}, 400, 1002, "ends early")

    async def test_rule_count_is_limited(self, api: Api, rules_url: str) -> None:
        """A room holds at most MAX_RULES rules; one more is refused and nothing changes."""
        await api.client.put(rules_url, json=[rule(f"r{i}") for i in range(MAX_RULES)])
        await assert_rejected(api, "POST", rules_url, rule("extra"), 400, 1002, f"at most {MAX_RULES} rules")
        assert len(await expressions(api, rules_url)) == MAX_RULES

    async def test_put_error_names_the_rule(self, api: Api, rules_url: str) -> None:
        """In a list, the error says which rule's expression is wrong."""
        await assert_rejected(api, "PUT", rules_url, [rule("ok"), rule("ssl and")], 400, 1002, "rules[1].expression")


class TestExpressionGate:
    def test_accepts_balanced_expressions(self) -> None:
        """Brackets inside strings, escaped quotes and nested groups are fine."""
        validate_expression('(http.request.uri.path in {"/a(" "/b\\")"}) and not ip.src in {1.1.1.1}')

    def test_error_is_a_value_error(self) -> None:
        """Rejections raise a ValueError subclass, so callers can catch either."""
        with pytest.raises(ValueError):
            validate_expression("]")
        assert issubclass(ExpressionError, ValueError)
