"""The `antechamber` command lists every subcommand the README and docs name."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from antechamber.cli import app


@pytest.mark.parametrize("command", ["serve", "demo", "surge", "simulate", "migrate", "zones", "tokens"])
def test_every_command_has_help(command: str) -> None:
    """Each subcommand is registered and answers --help."""
    result = CliRunner().invoke(app, [command, "--help"])
    assert 0 == result.exit_code, result.output
    assert "Usage" in result.output
