"""``antechamber simulate`` end to end: options, report files and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from antechamber.sim.cli import simulate

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(simulate)
    return app


class TestSimulateCommand:
    def test_writes_report_and_plots(self, tmp_path: Path) -> None:
        """A small run writes report.json, summary.md and one PNG per plot, and echoes the targets."""
        out = tmp_path / "run"
        result = CliRunner().invoke(
            _app(),
            ["--scenario", "small", "--visitors", "1500", "--duration", "20", "--seed", "4", "--out", str(out)],
        )
        assert 0 == result.exit_code, result.output
        assert "peak active" in result.output
        report = json.loads((out / "report.json").read_text())
        assert 1500 == report["summary"]["visitors"]
        assert "--visitors 1500" in report["command"]
        assert (out / "summary.md").read_text().startswith("# Simulation: small")
        for name in ("active", "admissions", "queue", "wait-estimates", "order", "memory", "overview"):
            assert (out / f"{name}.png").read_bytes().startswith(PNG_MAGIC)

    def test_overrides_reach_the_room(self, tmp_path: Path) -> None:
        """Room options on the command line replace the preset's values."""
        result = CliRunner().invoke(
            _app(),
            [
                "--scenario",
                "small",
                "--visitors",
                "300",
                "--total-active-users",
                "250",
                "--new-users-per-minute",
                "100",
                "--duration",
                "5",
                "--no-plots",
                "--out",
                str(tmp_path),
            ],
        )
        assert 0 == result.exit_code, result.output
        room = json.loads((tmp_path / "report.json").read_text())["room"]
        assert (250, 100) == (room["total_active_users"], room["new_users_per_minute"])

    def test_unknown_scenario_is_refused(self, tmp_path: Path) -> None:
        """A scenario name that is not a preset is a usage error."""
        result = CliRunner().invoke(_app(), ["--scenario", "nope", "--out", str(tmp_path)])
        assert 0 != result.exit_code
