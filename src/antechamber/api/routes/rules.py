"""Bypass rules: get, create (append), update (replace all), edit (PATCH, may move), delete.

Every call answers with the room's whole rule list in evaluation order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request

from antechamber.api.auth import AuthorizedZone
from antechamber.api.context import ClockDep, DatabaseDep, write_transaction
from antechamber.api.envelope import ERROR_RESPONSES, ListEnvelope
from antechamber.api.errors import invalid, not_found
from antechamber.api.models.rule import Rule, RuleInput, RulePatch, RulePosition
from antechamber.api.routes.rooms import load_room
from antechamber.db import lists, rules
from antechamber.db.accounts import Zone
from antechamber.db.ids import format_timestamp, new_id, parse_timestamp
from antechamber.rules.validate import MAX_RULES, ExpressionError, RuleContext, checked_expression

router = APIRouter(tags=["rules"], responses=ERROR_RESPONSES)
COLLECTION = "/zones/{zone_id}/waiting_rooms/{waiting_room_id}/rules"
ITEM = COLLECTION + "/{rule_id}"

RuleList = list[dict[str, Any]]


def _new_rule(rule: RuleInput, now: datetime) -> dict[str, Any]:
    return {**rule.model_dump(mode="json"), "id": new_id(), "version": "1", "last_updated": format_timestamp(now)}


def _result(rule_list: RuleList) -> ListEnvelope[Rule]:
    return ListEnvelope(
        result=[
            Rule.model_validate({**rule, "last_updated": parse_timestamp(rule["last_updated"])}) for rule in rule_list
        ]
    )


async def _change(
    request: Request, db: DatabaseDep, zone: Zone, room_id: str, change: Callable[[RuleList], RuleList]
) -> ListEnvelope[Rule]:
    """Read the list, let ``change`` compute the new one, check it, store it; all in one transaction."""
    async with write_transaction(db) as connection:
        room = await load_room(connection, zone, room_id, for_update=True)
        current = await rules.room_rules(connection, room.id)
        new_list = change(current)
        if len(new_list) > MAX_RULES:
            raise invalid(f"a waiting room has at most {MAX_RULES} rules")
        stored = {rule["expression"] for rule in current}
        fresh = [(i, rule["expression"]) for i, rule in enumerate(new_list) if rule["expression"] not in stored]
        if fresh:
            context = RuleContext(
                lists=await lists.list_kinds(connection, zone.account_id), geo=request.app.state.rules_geo
            )
            for position, expression in fresh:
                try:
                    checked_expression(expression, context)
                except ExpressionError as exc:
                    where = f"rules[{position}].expression" if len(new_list) > 1 else "expression"
                    raise invalid(f"{where}: {exc}") from None
        await rules.replace_rules(connection, room.id, new_list)
    return _result(new_list)


@router.get(COLLECTION, response_model=ListEnvelope[Rule])
async def get_rules(zone: AuthorizedZone, waiting_room_id: str, db: DatabaseDep) -> ListEnvelope[Rule]:
    """The room's rules in evaluation order."""
    async with db.connect() as connection:
        room = await load_room(connection, zone, waiting_room_id)
        return _result(await rules.room_rules(connection, room.id))


@router.post(COLLECTION, response_model=ListEnvelope[Rule])
async def create_rule(
    request: Request, zone: AuthorizedZone, waiting_room_id: str, body: RuleInput, db: DatabaseDep, clock: ClockDep
) -> ListEnvelope[Rule]:
    """Append a rule at the end of the list."""
    return await _change(request, db, zone, waiting_room_id, lambda current: [*current, _new_rule(body, clock())])


@router.put(COLLECTION, response_model=ListEnvelope[Rule])
async def update_rules(
    request: Request,
    zone: AuthorizedZone,
    waiting_room_id: str,
    body: list[RuleInput],
    db: DatabaseDep,
    clock: ClockDep,
) -> ListEnvelope[Rule]:
    """Replace the whole list (every rule gets a new id)."""
    now = clock()
    return await _change(request, db, zone, waiting_room_id, lambda _current: [_new_rule(rule, now) for rule in body])


def place(rule: dict[str, Any], others: RuleList, position: RulePosition | None, old_index: int) -> RuleList:
    """Insert ``rule`` among ``others`` where ``position`` says (or back where it was)."""
    if position is None:
        index = old_index
    elif position.index is not None:
        if not 1 <= position.index <= len(others) + 1:
            raise invalid(f"position.index must be between 1 and {len(others) + 1}")
        index = position.index - 1
    else:
        anchor = position.before if position.before is not None else position.after
        if anchor == "":
            index = 0 if position.before is not None else len(others)
        else:
            found = next((i for i, other in enumerate(others) if other["id"] == anchor), None)
            if found is None:
                raise invalid(f"position refers to rule {anchor!r}, which is not another rule of this room")
            index = found if position.before is not None else found + 1
    return [*others[:index], rule, *others[index:]]


@router.patch(ITEM, response_model=ListEnvelope[Rule])
async def edit_rule(
    request: Request,
    zone: AuthorizedZone,
    waiting_room_id: str,
    rule_id: str,
    body: RulePatch,
    db: DatabaseDep,
    clock: ClockDep,
) -> ListEnvelope[Rule]:
    """Change the given fields of a rule and optionally move it."""

    def change(current: RuleList) -> RuleList:
        old_index = next((i for i, rule in enumerate(current) if rule["id"] == rule_id), None)
        if old_index is None:
            raise not_found("rule")
        fields = body.model_dump(mode="json", exclude_unset=True, exclude={"position"})
        merged = RuleInput.model_validate({**current[old_index], **fields}).model_dump(mode="json")
        rule = {
            **current[old_index],
            **merged,
            "version": str(int(current[old_index]["version"]) + 1),
            "last_updated": format_timestamp(clock()),
        }
        others = current[:old_index] + current[old_index + 1 :]
        return place(rule, others, body.position, old_index)

    return await _change(request, db, zone, waiting_room_id, change)


@router.delete(ITEM, response_model=ListEnvelope[Rule])
async def delete_rule(
    request: Request, zone: AuthorizedZone, waiting_room_id: str, rule_id: str, db: DatabaseDep
) -> ListEnvelope[Rule]:
    """Remove a rule; the rest keep their order."""

    def change(current: RuleList) -> RuleList:
        if not any(rule["id"] == rule_id for rule in current):
            raise not_found("rule")
        return [rule for rule in current if rule["id"] != rule_id]

    return await _change(request, db, zone, waiting_room_id, change)
