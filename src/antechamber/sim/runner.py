"""One run from scenario to files: simulate, analyse, write the report and the plots."""

from __future__ import annotations

import sys
from pathlib import Path

from antechamber.sim.binding import CoreBinding
from antechamber.sim.report import TargetCheck, code_version, write_report
from antechamber.sim.scenarios import Scenario


def run_scenario(
    scenario: Scenario,
    core: CoreBinding,
    seed: int,
    out_dir: Path,
    command: str,
    draw: bool = True,
    reuse_record: bool = False,
) -> list[TargetCheck]:
    """Run ``scenario`` on ``core``, write ``report.json``, ``summary.md`` and (if ``draw``) PNGs to ``out_dir``.

    With ``reuse_record`` the raw record of an earlier run in ``out_dir`` is analysed
    again instead of simulating (the caller must pass the same scenario and seed).
    """
    if scenario.arrivals_only:
        from antechamber.sim.fill import fill_queue

        version = code_version()
        summary = fill_queue(scenario, core, seed)
        summary["code_version"] = version
        return write_report(out_dir, scenario, summary, {}, command)

    from antechamber.sim.analysis import analyse
    from antechamber.sim.crowd import draw_crowd
    from antechamber.sim.engine import load_record, save_record, simulate_crowd

    saved = out_dir / "record.npz"
    if reuse_record and saved.exists():
        record = load_record(saved)
    else:
        crowd = draw_crowd(scenario.crowd, seed)
        duration_ms = int(scenario.duration_minutes * 60_000)
        version = code_version() or ""  # taken before the run: the code may change while it runs
        record = simulate_crowd(
            scenario.plan, crowd, scenario.crowd, core, duration_ms, seed, progress=_report_progress
        )
        record.code_version = version
        out_dir.mkdir(parents=True, exist_ok=True)
        save_record(record, saved)
    analysis = analyse(scenario, record)
    checks = write_report(out_dir, scenario, analysis.summary, analysis.series, command)
    if draw:
        from antechamber.sim.plots import write_plots

        write_plots(out_dir, scenario, analysis)
    return checks


def _report_progress(virtual_ms: int, requests: int) -> None:
    """One line per five virtual minutes on stderr, so that long runs show they are alive."""
    print(f"  minute {virtual_ms // 60_000:>4}: {requests:,} requests decided", file=sys.stderr, flush=True)
