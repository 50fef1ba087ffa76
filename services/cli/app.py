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


def _print_version(asked: bool) -> None:
    """`haplan --version`: the same line as `haplan version`, then exit (eager: no command
    is needed, and none runs)."""
    if asked:
        from importlib.metadata import version

        typer.echo(f"haplan {version('haplan')}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: bool = typer.Option(
        False,
        "--version",
        is_eager=True,
        callback=_print_version,
        help="Print haplan's version and exit.",
    ),
) -> None:
    """High-availability control plane for pools of virtualization hosts.

    Offline planning on pool files (plan, what-if, evacuate), the running system
    (up, status, pool, vm, host, fault), audits and the fault simulator.
    """
