"""`haplan plan`, `haplan what-if`, `haplan evacuate`: offline planning on a pool file.

A thin shell over the pure planner core: load the pool, ask the core, then print rich tables
for a person (plan_tables) or, with --json, the JSON contract of spec/planner.md for a script.
Bad input (a pool file, an unknown host or VM, a malformed option: plan_options) is one line
on stderr and exit 2.

The planner (OR-Tools) is imported inside the commands, not here: every `haplan` command
imports this module, and `haplan version` should not pay for a solver.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from schemas import Pool, load_pool
from schemas.plan_hosts import host_rows
from services.cli.app import app
from services.cli.interrupt import interruptible
from services.cli.output import UserError, console, emit_json, fail
from services.cli.plan_options import (
    JsonFlag,
    PoolArg,
    WorkLimit,
    failed_hosts,
    planner_limit,
    pool_change,
    repeated,
)
from services.cli.plan_tables import (
    capacity_table,
    column_table,
    evacuation_tables,
    hosts_table,
    restart_tables,
    xapi_note,
)

if TYPE_CHECKING:
    from services.planner import FailureCapacity

METHODS = ("exact", "xapi")
# Exit status of `evacuate` when the host cannot be emptied: an answer, not an error (2).
EXIT_CANNOT_EVACUATE = 1


# --- the commands ---------------------------------------------------------------------------


@app.command("plan")
@interruptible
def plan(
    pool_file: PoolArg,
    as_json: JsonFlag = False,
    method: Annotated[
        str, typer.Option("--method", help="exact (haplan) or xapi (XenServer's heuristic).")
    ] = "exact",
    work_limit: WorkLimit = None,
) -> None:
    """How many host failures the pool tolerates, proven, and the failure set that breaks it."""
    if method not in METHODS:
        fail(f"unknown method {method!r}", "use --method exact or --method xapi")
    limit = planner_limit(work_limit)
    pool = load_pool(pool_file)
    extra: dict[str, Any] = {"hosts": host_rows(pool)}
    if method == "xapi":
        from services.planner.xapi import plan_exists_for, xapi_max_failures

        capacity = xapi_max_failures(pool)
        if capacity.max_host_failures_to_tolerate < len(pool.hosts) - 1:
            check = plan_exists_for(pool, capacity.max_host_failures_to_tolerate + 1)
            extra["xapi_gave_up_at"] = {
                "failures": check.failures,
                "heuristic": check.heuristic,
                "failure_order": list(check.breaking_sequence) if check.breaking_sequence else None,
            }
    else:
        capacity = _capacity(pool, limit, show=not as_json)
    if as_json:
        emit_json({**capacity.to_json(), **extra})
        return
    console.print(hosts_table(pool))
    console.print(capacity_table(capacity, f"Pool {pool.name}"))
    if "xapi_gave_up_at" in extra:
        console.print(xapi_note(extra["xapi_gave_up_at"]))


@app.command("what-if")
@interruptible
def what_if(
    pool_file: PoolArg,
    fail_hosts: Annotated[
        list[str] | None,
        repeated("--fail", "H1,H2", "Plan the restarts for these hosts failing together."),
    ] = None,
    add_vm: Annotated[
        list[str] | None,
        repeated("--add-vm", "NAME:MEMORY_MIB[:PRIORITY[:HOST]]", "Add a VM (halted if no HOST)."),
    ] = None,
    remove_vm: Annotated[list[str] | None, repeated("--remove-vm", "NAME", "Remove a VM.")] = None,
    set_priority: Annotated[
        list[str] | None,
        repeated("--set-priority", "NAME=PRIORITY", "restart, best-effort or empty."),
    ] = None,
    add_host: Annotated[
        list[str] | None,
        repeated("--add-host", "NAME:MEMORY_MIB[:RESERVED_MIB]", "Add a host."),
    ] = None,
    remove_host: Annotated[
        list[str] | None,
        repeated("--remove-host", "NAME", "Remove a host (its VMs become halted)."),
    ] = None,
    set_ntol: Annotated[
        int | None, repeated("--set-ntol", "N", "Change host_failures_to_tolerate.")
    ] = None,
    as_json: JsonFlag = False,
    work_limit: WorkLimit = None,
) -> None:
    """Restart plan for a failure set (--fail), and/or max failures of a changed pool.

    Every change option is repeatable; with --fail, the failure is planned on the changed pool.
    """
    limit = planner_limit(work_limit)
    change = pool_change(
        add_vm or [],
        remove_vm or [],
        set_priority or [],
        add_host or [],
        remove_host or [],
        set_ntol,
    )
    failed = failed_hosts(fail_hosts)
    if change is None and failed is None:
        fail("nothing to ask", "give --fail H1,H2 and/or a change such as --add-vm or --set-ntol")
    pool = load_pool(pool_file)
    from services.planner import apply_change, describe_change, restart_plan
    from services.planner.errors import UnknownNameError

    out: dict[str, Any] = {"pool": pool.name}
    changed, capacities, restart = pool, None, None
    if change is not None:
        try:
            changed = apply_change(pool, change)
        except (UnknownNameError, ValueError) as exc:
            raise UserError(str(exc), "check the names and values of the changes") from None
        capacities = (
            _capacity(pool, limit, show=not as_json),
            _capacity(changed, limit, show=not as_json),
        )
        out |= capacities[1].to_json()
        out |= {"changes": describe_change(change), "before": capacities[0].to_json()}
    if failed is not None:
        try:
            restart = restart_plan(changed, failed, **limit)
        except UnknownNameError as exc:
            raise UserError(str(exc), "name hosts of the pool in --fail") from None
        out |= restart.to_json()
    if as_json:
        emit_json(out)
        return
    if change is not None and capacities is not None:
        console.print(column_table("Changes", out["changes"]))
        console.print(capacity_table(capacities[0], "Before the changes"))
        console.print(capacity_table(capacities[1], "After the changes"))
    if restart is not None:
        for table in restart_tables(changed, restart):
            console.print(table)


@app.command("evacuate")
@interruptible
def evacuate(
    pool_file: PoolArg,
    host: Annotated[
        str,
        typer.Argument(metavar="HOST", help="Host to take into maintenance.", show_default=False),
    ],
    as_json: JsonFlag = False,
    work_limit: WorkLimit = None,
) -> None:
    """Where the VMs of HOST go to take it into maintenance, and whether ntol still holds.

    Exits 1 when the host cannot be emptied (the answer says which VMs cannot move and why).
    """
    limit = planner_limit(work_limit)
    pool = load_pool(pool_file)
    from services.planner import evacuation_plan
    from services.planner.errors import UnknownNameError

    try:
        with _progress(f"planning the evacuation of {host}", show=not as_json):
            result = evacuation_plan(pool, host, **limit)
    except UnknownNameError as exc:
        raise UserError(str(exc), "name a host of the pool") from None
    if as_json:
        emit_json({"pool": pool.name, **result.to_json()})
    else:
        for table in evacuation_tables(pool, result):
            console.print(table)
    if not result.possible:
        raise typer.Exit(EXIT_CANNOT_EVACUATE)


# --- calling the core -----------------------------------------------------------------------


@contextmanager
def _progress(label: str, show: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A transient progress bar on a TTY (never with --json or into a pipe); yields the
    callback to hand the core, or None when nothing is drawn."""
    if not (show and console.is_terminal):
        yield None
        return
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (SpinnerColumn(), TextColumn(escape(label)), BarColumn(), TaskProgressColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _capacity(pool: Pool, limit: dict[str, Any], show: bool) -> FailureCapacity:
    from services.planner import max_failures

    with _progress(f"planning {pool.name}", show) as on_progress:
        return max_failures(pool, on_progress=on_progress, **limit)
