"""One run from scenario to files: simulate, analyse, write the report and the plots."""

from __future__ import annotations

from pathlib import Path

from antechamber.sim.binding import CoreBinding
from antechamber.sim.report import TargetCheck, write_report
from antechamber.sim.scenarios import Scenario


def run_scenario(
    scenario: Scenario, core: CoreBinding, seed: int, out_dir: Path, command: str, draw: bool = True
) -> list[TargetCheck]:
    """Run ``scenario`` on ``core``, write ``report.json``, ``summary.md`` and (if ``draw``) PNGs to ``out_dir``."""
    if scenario.arrivals_only:
        from antechamber.sim.fill import fill_queue

        summary = fill_queue(scenario, core, seed)
        return write_report(out_dir, scenario, summary, {}, command)

    from antechamber.sim.analysis import analyse
    from antechamber.sim.crowd import draw_crowd
    from antechamber.sim.engine import save_record, simulate_crowd

    crowd = draw_crowd(scenario.crowd, seed)
    record = simulate_crowd(scenario.plan, crowd, scenario.crowd, core, int(scenario.duration_minutes * 60_000), seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_record(record, out_dir / "record.npz")
    analysis = analyse(scenario, record)
    checks = write_report(out_dir, scenario, analysis.summary, analysis.series, command)
    if draw:
        from antechamber.sim.plots import write_plots

        write_plots(out_dir, scenario, analysis)
    return checks
