"""The `haplan` Typer application; command modules attach their commands to it."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="haplan",
    help="High-availability control plane for pools of virtualization hosts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


@app.callback()
def _root() -> None:
    """High-availability control plane for pools of virtualization hosts.

    Offline planning on pool files (plan, what-if, evacuate), the running system
    (up, status, pool, vm, host, fault), audits and the fault simulator.
    """
