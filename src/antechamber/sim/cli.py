"""``antechamber simulate``: replay a surge against the real decision core and report how the limits held."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from antechamber.sim.binding import real_core
from antechamber.sim.scenarios import SCENARIOS, Scenario

_QUEUEING_METHODS = ("fifo", "random", "passthrough", "reject")


def simulate(
    scenario: Annotated[str, typer.Option(help=f"Preset: {', '.join(SCENARIOS)}.")] = "flash",
    visitors: Annotated[int | None, typer.Option(help="Number of visitors (default: the preset's).")] = None,
    total_active_users: Annotated[int | None, typer.Option(help="Room's total_active_users.")] = None,
    new_users_per_minute: Annotated[int | None, typer.Option(help="Room's new_users_per_minute.")] = None,
    session_duration: Annotated[int | None, typer.Option(help="Room's session_duration, minutes.")] = None,
    queueing_method: Annotated[str | None, typer.Option(help="fifo, random, passthrough or reject.")] = None,
    duration: Annotated[float | None, typer.Option(help="Virtual minutes to simulate.")] = None,
    arrival_minutes: Annotated[float | None, typer.Option(help="Minutes over which visitors arrive.")] = None,
    late_share: Annotated[float | None, typer.Option(help="Share of visitors whose refreshes come late.")] = None,
    abandon_share: Annotated[float | None, typer.Option(help="Share of visitors who give up waiting.")] = None,
    browse_minutes: Annotated[float | None, typer.Option(help="Mean time an admitted visitor browses.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for the crowd and the core's random source.")] = 1,
    out: Annotated[Path, typer.Option(help="Directory for report.json, summary.md and the PNGs.")] = Path("sim-out"),
    plots: Annotated[bool, typer.Option(help="Draw the PNG plots.")] = True,
    reuse_record: Annotated[
        bool, typer.Option(help="Re-analyse the record.npz an earlier run left in --out instead of simulating.")
    ] = False,
    nodes: Annotated[
        int,
        typer.Option(
            min=1, max=64, help="Gateway nodes sharing the room through Redis (1: one process, in-process state)."
        ),
    ] = 1,
    sync_ms: Annotated[int, typer.Option(min=100, max=10_000, help="How often each node syncs, virtual ms.")] = 1000,
    node_skew: Annotated[
        float, typer.Option(min=0, max=4, help="Traffic to node i is proportional to 1 / (i + 1) ** skew.")
    ] = 1.0,
    state: Annotated[
        str | None,
        typer.Option(help="Redis for --nodes > 1 (default: a private redis-server started for the run)."),
    ] = None,
) -> None:
    """Simulate a crowd against the real admission core on a virtual clock; write a report and plots."""
    if scenario not in SCENARIOS:
        raise typer.BadParameter(f"choose one of {', '.join(SCENARIOS)}", param_hint="--scenario")
    if queueing_method is not None and queueing_method not in _QUEUEING_METHODS:
        raise typer.BadParameter(f"choose one of {', '.join(_QUEUEING_METHODS)}", param_hint="--queueing-method")
    overrides: dict[str, Any] = {
        "visitors": visitors,
        "total_active_users": total_active_users,
        "new_users_per_minute": new_users_per_minute,
        "session_duration": session_duration,
        "queueing_method": queueing_method,
        "duration": duration,
        "arrival_minutes": arrival_minutes,
        "late_share": late_share,
        "abandon_share": abandon_share,
        "browse_minutes": browse_minutes,
    }
    chosen = {key: value for key, value in overrides.items() if value is not None}
    run = customise(SCENARIOS[scenario], chosen)
    command = " ".join(
        ["antechamber simulate", f"--scenario {scenario}"]
        + [f"--{key.replace('_', '-')} {value}" for key, value in chosen.items()]
        + ([f"--nodes {nodes}", f"--sync-ms {sync_ms}", f"--node-skew {node_skew}"] if nodes > 1 else [])
        + [f"--seed {seed}", f"--out {out}"]
    )
    typer.echo(f"{command}\n{run.description}")
    from antechamber.sim.runner import run_scenario

    with contextlib.ExitStack() as stack:
        core = real_core()
        if nodes > 1:
            from antechamber.sim.nodes import Nodes, nodes_core, private_redis

            url = state or stack.enter_context(private_redis())
            core = nodes_core(Nodes(url, nodes, sync_ms=sync_ms, skew=node_skew, seed=seed))
            if core.close is not None:
                stack.callback(core.close)
        checks = run_scenario(run, core, seed, out, command, draw=plots, reuse_record=reuse_record)
    for check in checks:
        mark = {True: "met", False: "MISSED", None: "n/a"}[check.met]
        typer.echo(f"  {check.measure:<45} {check.measured:>22}  target {check.target:<8} {mark}")
    typer.echo(f"wrote {out}/report.json and {out}/summary.md")


def customise(base: Scenario, chosen: dict[str, Any]) -> Scenario:
    """The preset with the command line's room, crowd and duration overrides applied."""
    room_fields = {"total_active_users", "new_users_per_minute", "session_duration", "queueing_method"}
    crowd_fields = {"visitors", "arrival_minutes", "late_share", "abandon_share", "browse_minutes"}
    room = replace(base.plan.room, **{k: v for k, v in chosen.items() if k in room_fields})
    crowd = replace(base.crowd, **{k: v for k, v in chosen.items() if k in crowd_fields})
    plan = replace(base.plan, room=room)
    if base.plan.event is not None and "queueing_method" in chosen:
        plan = replace(plan, event=replace(base.plan.event, queueing_method=chosen["queueing_method"]))
    return replace(
        base,
        plan=plan,
        crowd=crowd,
        duration_minutes=chosen.get("duration", base.duration_minutes),
    )
