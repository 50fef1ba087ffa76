"""`haplan vm set|start|shutdown|migrate`: a VM of the running pool, through the arbiter leader.

`vm set` takes xe's `KEY=VALUE` parameters (services.cli.xe_params); every value is checked
before anything is sent, so a typo is a one-line error with exit 2, never a half-applied change.
"""

from __future__ import annotations

from typing import Annotated

import typer

from schemas.ops import VMMigrate, VMShutdown, VMStart
from services.cli.app import app
from services.cli.events import JsonFlag, NatsServers
from services.cli.ops import run_op
from services.cli.xe_params import build, named, vm_set_request

vm_app = typer.Typer(
    help="A VM of the running pool: HA protection, start, admin shutdown, migrate, list.",
    no_args_is_help=True,
)
app.add_typer(vm_app, name="vm")

VMArg = Annotated[str, typer.Argument(metavar="VM", help="A VM of the pool.")]


@vm_app.command("set")
def set_params(
    vm: VMArg,
    params: Annotated[
        list[str],
        typer.Argument(
            metavar="KEY=VALUE...",
            help='ha-restart-priority=restart|best-effort|"" (empty: unprotected), '
            "order=N (restart order, lower first), start-delay=S (seconds before the next order).",
        ),
    ],
    as_json: JsonFlag = False,
    nats: NatsServers = None,
) -> None:
    """Set VM's HA parameters, as `xe vm-param-set`; parameters left out keep their value.

    Protecting a VM is refused when the pool could no longer tolerate its configured host
    failures, unless the pool allows overcommit.
    """
    run_op(vm_set_request(vm, params), nats, as_json)


@vm_app.command("start")
def start(
    vm: VMArg,
    on: Annotated[
        str | None,
        typer.Option(
            "--on", metavar="HOST", help="Start it on this host (default: the planner's)."
        ),
    ] = None,
    as_json: JsonFlag = False,
    nats: NatsServers = None,
) -> None:
    """Start a halted VM (admission control applies to a protected one)."""
    host = named("host", on) if on is not None else None
    run_op(build(VMStart, vm=named("VM", vm), host=host), nats, as_json)


@vm_app.command("shutdown")
def shutdown(
    vm: VMArg,
    as_json: JsonFlag = False,
    nats: NatsServers = None,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            metavar="SECONDS",
            min=0,
            max=3600,
            help="How long to wait for the halt to be recorded (0: answer once the stop is "
            "ordered; at most an hour).",
        ),
    ] = 60.0,
) -> None:
    """Admin shutdown: the VM stays halted, HA does not restart it.

    Answers once the log records the VM halted (`halted: true`); exit 1 if that does not
    happen within --wait.
    """
    from services.cli.vm_halt import shutdown_confirmed

    op = build(VMShutdown, vm=named("VM", vm))
    run_op(op, nats, as_json, lambda settings: shutdown_confirmed(settings, op, wait))


@vm_app.command("migrate")
def migrate(
    vm: VMArg,
    host: Annotated[str, typer.Argument(metavar="HOST", help="The host to move it to.")],
    as_json: JsonFlag = False,
    nats: NatsServers = None,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            metavar="SECONDS",
            min=0,
            max=3600,
            help="How long to wait for the VM to be recorded running on HOST (0: answer once "
            "the stop is ordered; at most an hour).",
        ),
    ] = 60.0,
) -> None:
    """Move a running VM to HOST: stopped where it runs, then started on HOST once the stop
    is confirmed, so it never runs on two hosts (with the process and sim drivers there is no
    live migration: the VM restarts).

    Refused (exit 1) when HOST cannot take it now, or when the pool would then absorb fewer
    host failures than configured, unless the pool allows overcommit. Answers once the VM is
    recorded running on HOST; exit 1 if that does not happen within --wait.
    """
    from services.cli.vm_move import migration_confirmed

    op = build(VMMigrate, vm=named("VM", vm), host=named("host", host))
    run_op(op, nats, as_json, lambda settings: migration_confirmed(settings, op, wait))
