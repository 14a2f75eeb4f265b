"""``python -m antechamber.sim``: the ``simulate`` command on its own."""

from __future__ import annotations

import typer

from antechamber.sim.cli import simulate


def main() -> None:
    """Run the ``simulate`` command as a one-command Typer app."""
    typer.run(simulate)


if __name__ == "__main__":
    main()
