"""The expressions docs/RULES.md offers to copy are valid rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from antechamber.rules.check import RuleContext
from antechamber.rules.validate import checked_expression

DOC = Path(__file__).resolve().parents[2] / "docs" / "RULES.md"


def copyable() -> list[str]:
    """The second column of the "Examples to copy" table."""
    section = DOC.read_text(encoding="utf-8").split("## Examples to copy", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`" in line]
    return [re.findall(r"`([^`]+)`", row.split(" | ", 1)[1])[0] for row in rows]


@pytest.mark.parametrize("expression", copyable())
def test_example_is_valid(expression: str) -> None:
    """Each example parses and type-checks (with an office list and a geo database)."""
    checked_expression(expression, RuleContext(lists={"office": "ip"}, geo=True))


def test_examples_were_found() -> None:
    """The table is there and was read."""
    assert len(copyable()) >= 8
