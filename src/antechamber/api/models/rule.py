"""Bypass rule bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, model_validator

from antechamber.rules.validate import check_size


def _check_expression(value: str) -> str:
    # The full parse and type check needs the account's lists, so the route does it (rules.checked_rules).
    check_size(value)
    return value


Expression = Annotated[StrictStr, AfterValidator(_check_expression)]


class RuleInput(BaseModel):
    """One rule as create (POST, appended) and replace-all (PUT, a list) take it."""

    model_config = ConfigDict(extra="ignore")

    action: Literal["bypass_waiting_room"]
    expression: Expression
    description: StrictStr = ""
    enabled: StrictBool = True


class RulePosition(BaseModel):
    """Where an edited rule goes: exactly one of ``index`` (1-based), ``before`` or ``after``.

    ``before: ""`` means first and ``after: ""`` means last.
    """

    model_config = ConfigDict(extra="forbid")

    index: StrictInt | None = None
    before: StrictStr | None = None
    after: StrictStr | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> RulePosition:
        given = [name for name in ("index", "before", "after") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("position takes exactly one of index, before or after")
        return self


class RulePatch(BaseModel):
    """The body of edit (PATCH): the fields given change, and ``position`` may move the rule."""

    model_config = ConfigDict(extra="ignore")

    action: Literal["bypass_waiting_room"] | None = None
    expression: Expression | None = None
    description: StrictStr | None = None
    enabled: StrictBool | None = None
    position: RulePosition | None = None


class Rule(BaseModel):
    """A rule as the API returns it."""

    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    action: Literal["bypass_waiting_room"]
    expression: str
    description: str
    enabled: bool
    version: str
    last_updated: datetime
