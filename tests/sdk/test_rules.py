"""Bypass rules: get, create (appends), update (replaces all), edit with position, delete; each returns the list."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import cloudflare
import pytest
from cloudflare.types.waiting_rooms import WaitingRoomRule

from tests.sdk.support import HEX32, ApiServer, assert_cloudflare_error, new_room, raises

BYPASS: Literal["bypass_waiting_room"] = "bypass_waiting_room"
EXPRESSIONS = {
    "a": "ip.src in {192.0.2.0/24}",
    "b": 'http.request.uri.path eq "/health"',
    "c": 'http.cookie contains "vip"',
}


def exprs(rules: list[WaitingRoomRule]) -> list[str | None]:
    """The expressions of a rule list, in order."""
    return [rule.expression for rule in rules]


def ids(rules: list[WaitingRoomRule]) -> list[str | None]:
    """The ids of a rule list, in order."""
    return [rule.id for rule in rules]


def three_rules(cf: cloudflare.Cloudflare, api_server: ApiServer) -> tuple[str, list[WaitingRoomRule]]:
    """A fresh room holding rules a, b, c in that order."""
    room = new_room(cf, api_server.zone_id)
    rid = str(room.id)
    rules = cf.waiting_rooms.rules.update(
        rid,
        zone_id=api_server.zone_id,
        rules=[{"action": BYPASS, "expression": EXPRESSIONS[k], "description": k} for k in "abc"],
    ).result
    assert [EXPRESSIONS[k] for k in "abc"] == exprs(rules)
    return rid, rules


class TestGetCreate:
    def test_fresh_room_has_no_rules(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A new room's rule list is empty."""
        room = new_room(cf, api_server.zone_id)
        assert [] == cf.waiting_rooms.rules.get(str(room.id), zone_id=api_server.zone_id).result

    def test_create_appends_and_returns_all(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Each create appends one rule at the end and returns the whole ordered list."""
        room = new_room(cf, api_server.zone_id)
        rid = str(room.id)
        first = cf.waiting_rooms.rules.create(
            rid, zone_id=api_server.zone_id, rules={"action": BYPASS, "expression": EXPRESSIONS["a"]}
        ).result
        assert [EXPRESSIONS["a"]] == exprs(first)
        second = cf.waiting_rooms.rules.create(
            rid,
            zone_id=api_server.zone_id,
            rules={"action": BYPASS, "expression": EXPRESSIONS["b"], "description": "health", "enabled": False},
        ).result
        assert [EXPRESSIONS["a"], EXPRESSIONS["b"]] == exprs(second)
        assert first[0].id == second[0].id
        assert second == cf.waiting_rooms.rules.get(rid, zone_id=api_server.zone_id).result

    def test_rule_fields_and_defaults(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A rule has a 32-hex id, a version, last_updated, and defaults to enabled with an empty description."""
        room = new_room(cf, api_server.zone_id)
        (rule,) = cf.waiting_rooms.rules.create(
            str(room.id), zone_id=api_server.zone_id, rules={"action": BYPASS, "expression": EXPRESSIONS["a"]}
        ).result
        assert rule.id is not None and HEX32.match(rule.id)
        assert (BYPASS, EXPRESSIONS["a"], "", True) == (rule.action, rule.expression, rule.description, rule.enabled)
        assert isinstance(rule.version, str) and rule.version
        assert isinstance(rule.last_updated, datetime) and rule.last_updated.tzinfo is not None

    def test_rules_are_per_room(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A rule added to one room does not appear in another room's list."""
        rid, _ = three_rules(cf, api_server)
        other = new_room(cf, api_server.zone_id)
        assert [] == cf.waiting_rooms.rules.get(str(other.id), zone_id=api_server.zone_id).result


class TestUpdate:
    def test_put_replaces_all(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """PUT replaces the whole list with the given rules, in the given order."""
        rid, old = three_rules(cf, api_server)
        new = cf.waiting_rooms.rules.update(
            rid,
            zone_id=api_server.zone_id,
            rules=[
                {"action": BYPASS, "expression": EXPRESSIONS["c"], "enabled": False},
                {"action": BYPASS, "expression": EXPRESSIONS["a"], "description": "again"},
            ],
        ).result
        assert [EXPRESSIONS["c"], EXPRESSIONS["a"]] == exprs(new)
        assert [False, True] == [rule.enabled for rule in new]
        assert ["", "again"] == [rule.description for rule in new]
        assert new == cf.waiting_rooms.rules.get(rid, zone_id=api_server.zone_id).result
        assert not set(ids(old)) & set(ids(new))

    def test_put_empty_clears(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """PUT with an empty list removes every rule."""
        rid, _ = three_rules(cf, api_server)
        assert [] == cf.waiting_rooms.rules.update(rid, zone_id=api_server.zone_id, rules=[]).result
        assert [] == cf.waiting_rooms.rules.get(rid, zone_id=api_server.zone_id).result


class TestEdit:
    def edit(
        self, cf: cloudflare.Cloudflare, api_server: ApiServer, rid: str, rule: WaitingRoomRule, **position: Any
    ) -> list[WaitingRoomRule]:
        """Edit ``rule`` with its own fields and the given position; return the new list."""
        return cf.waiting_rooms.rules.edit(
            str(rule.id),
            zone_id=api_server.zone_id,
            waiting_room_id=rid,
            action=BYPASS,
            expression=str(rule.expression),
            description=str(rule.description),
            position=position,  # type: ignore[arg-type]
        ).result

    def test_position_index(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """position.index (1-based) moves a rule to that place and shifts the others."""
        rid, (a, b, c) = three_rules(cf, api_server)
        assert [c.id, a.id, b.id] == ids(self.edit(cf, api_server, rid, c, index=1))
        assert [a.id, c.id, b.id] == ids(self.edit(cf, api_server, rid, c, index=2))
        assert [a.id, b.id, c.id] == ids(self.edit(cf, api_server, rid, c, index=3))

    def test_position_before_after(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """position.before / position.after place a rule next to the named rule."""
        rid, (a, b, c) = three_rules(cf, api_server)
        assert [a.id, c.id, b.id] == ids(self.edit(cf, api_server, rid, c, before=str(b.id)))
        assert [a.id, b.id, c.id] == ids(self.edit(cf, api_server, rid, c, after=str(b.id)))
        assert [b.id, a.id, c.id] == ids(self.edit(cf, api_server, rid, a, after=str(b.id)))

    def test_position_empty_means_first_or_last(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """before "" moves a rule to the front and after "" to the end."""
        rid, (a, b, c) = three_rules(cf, api_server)
        assert [c.id, a.id, b.id] == ids(self.edit(cf, api_server, rid, c, before=""))
        assert [a.id, b.id, c.id] == ids(self.edit(cf, api_server, rid, c, after=""))
        assert [b.id, c.id, a.id] == ids(self.edit(cf, api_server, rid, a, after=""))

    def test_edit_fields_keeps_place(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Editing a rule without position changes its fields, keeps its id and its place in the list."""
        rid, (a, b, c) = three_rules(cf, api_server)
        rules = cf.waiting_rooms.rules.edit(
            str(b.id),
            zone_id=api_server.zone_id,
            waiting_room_id=rid,
            action=BYPASS,
            expression='http.request.uri.path eq "/status"',
            description="status page",
            enabled=False,
        ).result
        assert [a.id, b.id, c.id] == ids(rules)
        edited = rules[1]
        assert ('http.request.uri.path eq "/status"', "status page", False) == (
            edited.expression,
            edited.description,
            edited.enabled,
        )
        assert rules == cf.waiting_rooms.rules.get(rid, zone_id=api_server.zone_id).result

    def test_edit_bumps_version(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Editing a rule gives it a new version and a later last_updated; the other rules keep theirs."""
        rid, (a, b, c) = three_rules(cf, api_server)
        rules = self.edit(cf, api_server, rid, b, index=2)
        assert [a.version, c.version] == [rules[0].version, rules[2].version]
        assert b.version != rules[1].version
        assert rules[1].last_updated is not None and b.last_updated is not None
        assert rules[1].last_updated >= b.last_updated

    @pytest.mark.parametrize(
        "position",
        [{"index": 0}, {"index": 4}, {"before": "0" * 32}, {"after": "0" * 32}, {"index": 1, "after": ""}],
        ids=["index 0", "index past the end", "before unknown rule", "after unknown rule", "two positions"],
    )
    def test_bad_position(self, cf: cloudflare.Cloudflare, api_server: ApiServer, position: dict[str, Any]) -> None:
        """A position outside 1..len, naming an unknown rule, or giving two places is a 400 and moves nothing."""
        rid, rules = three_rules(cf, api_server)
        err = raises(cloudflare.BadRequestError, lambda: self.edit(cf, api_server, rid, rules[0], **position))
        assert_cloudflare_error(err, 400)
        assert rules == cf.waiting_rooms.rules.get(rid, zone_id=api_server.zone_id).result


class TestDelete:
    def test_delete_returns_rest(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Deleting a rule returns the remaining rules in order."""
        rid, (a, b, c) = three_rules(cf, api_server)
        rest = cf.waiting_rooms.rules.delete(str(b.id), zone_id=api_server.zone_id, waiting_room_id=rid).result
        assert [a.id, c.id] == ids(rest)
        assert rest == cf.waiting_rooms.rules.get(rid, zone_id=api_server.zone_id).result

    def test_delete_unknown_rule(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """Deleting or editing a rule id the room does not have is a 404 and changes nothing."""
        rid, rules = three_rules(cf, api_server)
        missing = "0" * 32
        err = raises(
            cloudflare.NotFoundError,
            lambda: cf.waiting_rooms.rules.delete(missing, zone_id=api_server.zone_id, waiting_room_id=rid),
        )
        assert_cloudflare_error(err, 404)
        err = raises(
            cloudflare.NotFoundError,
            lambda: cf.waiting_rooms.rules.edit(
                missing, zone_id=api_server.zone_id, waiting_room_id=rid, action=BYPASS, expression=EXPRESSIONS["a"]
            ),
        )
        assert_cloudflare_error(err, 404)
        assert rules == cf.waiting_rooms.rules.get(rid, zone_id=api_server.zone_id).result


class TestInvalid:
    def test_bad_expression(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """A rule whose expression does not parse is a 400 on create, update and edit, and the list is unchanged."""
        rid, rules = three_rules(cf, api_server)
        bad = "ip.src in {"
        for call in (
            lambda: cf.waiting_rooms.rules.create(
                rid, zone_id=api_server.zone_id, rules={"action": BYPASS, "expression": bad}
            ),
            lambda: cf.waiting_rooms.rules.update(
                rid, zone_id=api_server.zone_id, rules=[{"action": BYPASS, "expression": bad}]
            ),
            lambda: cf.waiting_rooms.rules.edit(
                str(rules[0].id), zone_id=api_server.zone_id, waiting_room_id=rid, action=BYPASS, expression=bad
            ),
        ):
            assert_cloudflare_error(raises(cloudflare.BadRequestError, call), 400)
        assert rules == cf.waiting_rooms.rules.get(rid, zone_id=api_server.zone_id).result

    def test_unknown_field_in_expression(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """An expression naming a field that does not exist is a 400 whose message names the field and its place."""
        room = new_room(cf, api_server.zone_id)
        err = raises(
            cloudflare.BadRequestError,
            lambda: cf.waiting_rooms.rules.create(
                str(room.id), zone_id=api_server.zone_id, rules={"action": BYPASS, "expression": 'no.such.field eq "x"'}
            ),
        )
        assert_cloudflare_error(err, 400)
        assert "unknown field no.such.field (line 1, column 1)" in str(err.body)
        assert cf.waiting_rooms.rules.get(str(room.id), zone_id=api_server.zone_id).result == []

    @pytest.mark.parametrize(
        ("expression", "words"),
        [
            ('http.host eq "a" or\n  ip.src eq "x"', "literal of type Ip, but got Bytes (line 2, column 13)"),
            ("cf.threat_score gt 10", "cannot be used in waiting room rules"),
            ("ip.src in $nowhere", "unknown list $nowhere"),
            ("ssl and", "ends early"),
        ],
    )
    def test_invalid_expressions_name_the_place(
        self, cf: cloudflare.Cloudflare, api_server: ApiServer, expression: str, words: str
    ) -> None:
        """Parse, field, list and type errors come back as BadRequestError with what and where."""
        rid, rules = three_rules(cf, api_server)
        err = raises(
            cloudflare.BadRequestError,
            lambda: cf.waiting_rooms.rules.update(
                rid, zone_id=api_server.zone_id, rules=[{"action": BYPASS, "expression": expression}]
            ),
        )
        assert_cloudflare_error(err, 400)
        assert words in str(err.body)
        assert rules == cf.waiting_rooms.rules.get(rid, zone_id=api_server.zone_id).result

    def test_bad_action(self, cf: cloudflare.Cloudflare, api_server: ApiServer) -> None:
        """An action other than bypass_waiting_room is a 400."""
        room = new_room(cf, api_server.zone_id)
        err = raises(
            cloudflare.BadRequestError,
            lambda: cf.waiting_rooms.rules.create(
                str(room.id),
                zone_id=api_server.zone_id,
                rules={"action": "block", "expression": EXPRESSIONS["a"]},  # type: ignore[typeddict-item]
            ),
        )
        assert_cloudflare_error(err, 400)
        assert [] == cf.waiting_rooms.rules.get(str(room.id), zone_id=api_server.zone_id).result
