"""PNG plots of a run, drawn with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

# Agg must be chosen before pyplot is imported, so that no display is ever needed.
matplotlib.use("Agg")

import matplotlib.pyplot as plt
from PIL import Image

from antechamber.sim.analysis import Analysis
from antechamber.sim.scenarios import Scenario

Panel = Callable[[Any, Scenario, Analysis], None]
_DPI = 90


def _active(ax: Any, scenario: Scenario, analysis: Analysis) -> None:
    s = analysis.series
    limit = scenario.plan.room.total_active_users
    ax.plot(s["minute"], s["active"], lw=1.2, label="active (ground truth)")
    ax.plot(s["sample_minute"], s["core_active"], lw=0.8, ls="--", label="active (core's count)")
    ax.axhline(limit, color="k", lw=0.8, label="total_active_users")
    ax.axhline(limit * 1.02, color="r", lw=0.6, ls=":", label="× 1.02")
    ax.set(title="Active users", xlabel="minute", ylabel="users")
    ax.legend(fontsize=7, loc="lower right")


def _admissions(ax: Any, scenario: Scenario, analysis: Analysis) -> None:
    s = analysis.series
    per_minute = s["admissions_per_minute"]
    ax.bar([m + 0.5 for m in range(len(per_minute))], per_minute, width=1.0, alpha=0.35, label="per whole minute")
    ax.plot(s["minute"], s["admitted_last_minute"], lw=1.0, label="in the last 60 s")
    ax.axhline(scenario.plan.room.new_users_per_minute, color="k", lw=0.8, label="new_users_per_minute")
    ax.axhline(scenario.plan.room.new_users_per_minute * 1.02, color="r", lw=0.6, ls=":", label="× 1.02")
    ax.set(title="Admissions per minute", xlabel="minute", ylabel="users / minute")
    ax.legend(fontsize=7, loc="upper right")


def _queue(ax: Any, scenario: Scenario, analysis: Analysis) -> None:
    s = analysis.series
    ax.plot(s["minute"], s["live_queue"], lw=1.2, label="queued and still refreshing")
    ax.plot(s["sample_minute"], s["core_waiting"], lw=0.8, ls="--", label="waiting (core's count)")
    ax.set(title="Queue length", xlabel="minute", ylabel="users")
    ax.legend(fontsize=7, loc="upper right")


def _wait(ax: Any, scenario: Scenario, analysis: Analysis) -> None:
    w = analysis.wait_points
    ranged = "p75_minutes" in w  # random queueing: the median shown, and the 75th percentile
    median = "waitTime (median)" if ranged else None
    ax.scatter(w.get("actual_minutes", []), w.get("estimate_minutes", []), s=2, alpha=0.3, label=median)
    if ranged:
        within = analysis.summary.get("estimate_served_within_p75_share") or 0.0
        label = f"waitTime75Percentile ({within * 100:.0f} % served within)"
        ax.scatter(w["actual_minutes"], w["p75_minutes"], s=2, alpha=0.3, color="tab:orange", label=label)
    top = max([1.0, *w.get("actual_minutes", []), *w.get("estimate_minutes", [])])
    ax.plot([0, top], [0, top], color="k", lw=0.8, label="estimate = actual")
    ax.plot([0, top], [0, top * 1.15], color="r", lw=0.5, ls=":", label="± 15 %")
    ax.plot([0, top], [0, top * 0.85], color="r", lw=0.5, ls=":")
    ax.set(title="Wait shown on arrival vs served", xlabel="actual wait (min)", ylabel="estimate (min)")
    ax.legend(fontsize=7, loc="upper left")


def _order(ax: Any, scenario: Scenario, analysis: Analysis) -> None:
    o = analysis.order_points
    ax.scatter(o.get("arrival_rank", []), o.get("admission_rank", []), s=1, alpha=0.4)
    tau = analysis.summary.get("kendall_tau", 0.0)
    ax.set(title=f"Admission order vs arrival (tau = {tau:.4f})", xlabel="arrival rank", ylabel="admission rank")


def _memory(ax: Any, scenario: Scenario, analysis: Analysis) -> None:
    s = analysis.series
    ax.plot(s["sample_minute"], [b / 1024 for b in s["memory_bytes"]], lw=1.0)
    ax.set(title="Room state memory", xlabel="minute", ylabel="KiB")


PANELS: dict[str, Panel] = {
    "active": _active,
    "admissions": _admissions,
    "queue": _queue,
    "wait-estimates": _wait,
    "order": _order,
    "memory": _memory,
}


def write_plots(out_dir: Path, scenario: Scenario, analysis: Analysis) -> list[Path]:
    """One PNG per panel plus ``overview.png`` with all six; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, panel in PANELS.items():
        fig, ax = plt.subplots(figsize=(6, 3.6))
        panel(ax, scenario, analysis)
        fig.tight_layout()
        written.append(_save(fig, out_dir / f"{name}.png"))
    fig, axes = plt.subplots(3, 2, figsize=(11, 10))
    for ax, panel in zip(axes.flat, PANELS.values(), strict=True):
        panel(ax, scenario, analysis)
    fig.suptitle(f"antechamber simulate --scenario {scenario.name}: {scenario.description}", fontsize=9)
    fig.tight_layout()
    written.append(_save(fig, out_dir / "overview.png"))
    return written


def _save(fig: Any, path: Path) -> Path:
    """Save as a 64-colour PNG: line plots lose nothing visible and the files shrink about threefold."""
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=_DPI, format="png")
    plt.close(fig)
    buffer.seek(0)
    with Image.open(buffer) as image:
        image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path
