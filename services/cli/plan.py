"""`haplan plan`, `haplan what-if`, `haplan evacuate`: offline planning on a pool file.

A thin shell over the pure planner core: load the pool, ask the core, then print rich tables
for a person or, with --json, the JSON contract of spec/planner.md for a script. Bad input (a
pool file, an unknown host or VM, a malformed option) is one line on stderr and exit 2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from schemas import BEST_EFFORT, RESTART, UNPROTECTED, VM, Host, Pool, Priority, load_pool
from services.cli.app import app
from services.cli.output import UserError, console, emit_json, fail
from services.planner import (
    EvacuationPlan,
    FailureCapacity,
    PoolChange,
    RestartPlan,
    apply_change,
    evacuation_plan,
    max_failures,
    restart_plan,
)
from services.planner.errors import UnknownNameError
from services.planner.xapi import plan_exists_for, xapi_max_failures

METHODS = ("exact", "xapi")
PRIORITIES: dict[str, Priority] = {"restart": RESTART, "best-effort": BEST_EFFORT, "": UNPROTECTED}
PRIORITY_HINT = "use restart, best-effort, or nothing for an unprotected VM"
# Exit status of `evacuate` when the host cannot be emptied: an answer, not an error (2).
EXIT_CANNOT_EVACUATE = 1

PoolArg = Annotated[
    Path,
    typer.Argument(
        metavar="POOL", help="Pool file (YAML or JSON, spec/pool-format.md).", show_default=False
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
WorkLimit = Annotated[
    float | None,
    typer.Option(
        "--work-limit",
        metavar="SECONDS",
        help="Planner work limit in deterministic seconds (reproducible, not wall clock); past "
        "it the answer is the proven value with its upper bound. Exact method only.",
        show_default=False,
    ),
]


def _repeated(flag: str, metavar: str, help: str) -> Any:
    return typer.Option(flag, metavar=metavar, help=help, show_default=False)


# --- the commands ---------------------------------------------------------------------------


@app.command("plan")
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
    limit = _limit(work_limit)
    pool = load_pool(pool_file)
    extra: dict[str, Any] = {"hosts": _host_rows(pool)}
    if method == "xapi":
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
    console.print(_hosts_table(pool))
    console.print(_capacity_table(capacity, f"Pool {pool.name}"))
    if "xapi_gave_up_at" in extra:
        console.print(_xapi_note(extra["xapi_gave_up_at"]))


@app.command("what-if")
def what_if(
    pool_file: PoolArg,
    fail_hosts: Annotated[
        list[str] | None,
        _repeated("--fail", "H1,H2", "Plan the restarts for these hosts failing together."),
    ] = None,
    add_vm: Annotated[
        list[str] | None,
        _repeated("--add-vm", "NAME:MEMORY_MIB[:PRIORITY[:HOST]]", "Add a VM (halted if no HOST)."),
    ] = None,
    remove_vm: Annotated[list[str] | None, _repeated("--remove-vm", "NAME", "Remove a VM.")] = None,
    set_priority: Annotated[
        list[str] | None,
        _repeated("--set-priority", "NAME=PRIORITY", "restart, best-effort or empty."),
    ] = None,
    add_host: Annotated[
        list[str] | None,
        _repeated("--add-host", "NAME:MEMORY_MIB[:RESERVED_MIB]", "Add a host."),
    ] = None,
    remove_host: Annotated[
        list[str] | None,
        _repeated("--remove-host", "NAME", "Remove a host (its VMs become halted)."),
    ] = None,
    set_ntol: Annotated[
        int | None, _repeated("--set-ntol", "N", "Change host_failures_to_tolerate.")
    ] = None,
    as_json: JsonFlag = False,
    work_limit: WorkLimit = None,
) -> None:
    """Restart plan for a failure set (--fail), and/or max failures of a changed pool.

    Every change option is repeatable; with --fail, the failure is planned on the changed pool.
    """
    limit = _limit(work_limit)
    change = _change(
        add_vm or [],
        remove_vm or [],
        set_priority or [],
        add_host or [],
        remove_host or [],
        set_ntol,
    )
    failed = _failed_hosts(fail_hosts)
    if change is None and failed is None:
        fail("nothing to ask", "give --fail H1,H2 and/or a change such as --add-vm or --set-ntol")
    pool = load_pool(pool_file)
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
        out |= {"changes": _describe(change), "before": capacities[0].to_json()}
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
        console.print(_column_table("Changes", out["changes"]))
        console.print(_capacity_table(capacities[0], "Before the changes"))
        console.print(_capacity_table(capacities[1], "After the changes"))
    if restart is not None:
        for table in _restart_tables(changed, restart):
            console.print(table)


@app.command("evacuate")
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
    limit = _limit(work_limit)
    pool = load_pool(pool_file)
    try:
        with _progress(f"planning the evacuation of {host}", show=not as_json):
            result = evacuation_plan(pool, host, **limit)
    except UnknownNameError as exc:
        raise UserError(str(exc), "name a host of the pool") from None
    if as_json:
        emit_json({"pool": pool.name, **result.to_json()})
    else:
        for table in _evacuation_tables(pool, result):
            console.print(table)
    if not result.possible:
        raise typer.Exit(EXIT_CANNOT_EVACUATE)


# --- calling the core -----------------------------------------------------------------------


def _limit(work_limit: float | None) -> dict[str, Any]:
    """Keyword arguments for the core: its own default unless the operator gave one."""
    if work_limit is None:
        return {}
    if not work_limit > 0:
        fail(f"--work-limit must be a positive number of seconds, not {work_limit}")
    return {"work_limit": work_limit}


@contextmanager
def _progress(label: str, show: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A transient progress bar on a TTY (never with --json or into a pipe); yields the
    callback to hand the core, or None when nothing is drawn."""
    if not (show and console.is_terminal):
        yield None
        return
    columns = (SpinnerColumn(), TextColumn(escape(label)), BarColumn(), TaskProgressColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _capacity(pool: Pool, limit: dict[str, Any], show: bool) -> FailureCapacity:
    with _progress(f"planning {pool.name}", show) as on_progress:
        return max_failures(pool, on_progress=on_progress, **limit)


# --- parsing the what-if options ------------------------------------------------------------


def _failed_hosts(values: list[str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    names = tuple(n.strip() for v in values for n in v.split(",") if n.strip())
    if not names:
        fail("--fail names no host", "write --fail H1,H2 with host names of the pool")
    return names


def _mib(option: str, spec: str, text: str, hint: str, minimum: int = 1) -> int:
    try:
        value = int(text)
    except ValueError:
        raise UserError(f"{option} {spec!r}: {text!r} is not a whole number of MiB", hint) from None
    if value < minimum:
        raise UserError(f"{option} {spec!r}: memory must be at least {minimum} MiB", hint)
    return value


def _new_vm(spec: str) -> VM:
    hint = "write NAME:MEMORY_MIB[:PRIORITY[:HOST]], e.g. --add-vm 'web 3:4096:restart:lab2'"
    parts = spec.split(":")
    if not 2 <= len(parts) <= 4 or not parts[0]:
        fail(f"--add-vm {spec!r}: expected NAME:MEMORY_MIB[:PRIORITY[:HOST]]", hint)
    memory = _mib("--add-vm", spec, parts[1], hint)
    priority = parts[2] if len(parts) > 2 else ""
    if priority not in PRIORITIES:
        fail(f"--add-vm {spec!r}: unknown priority {priority!r}", PRIORITY_HINT)
    host = parts[3] if len(parts) > 3 and parts[3] else None
    return VM(name=parts[0], memory_mib=memory, ha_restart_priority=PRIORITIES[priority], host=host)


def _new_host(spec: str) -> Host:
    hint = "write NAME:MEMORY_MIB[:RESERVED_MIB], e.g. --add-host 'lab3:65536:2048'"
    parts = spec.split(":")
    if not 2 <= len(parts) <= 3 or not parts[0]:
        fail(f"--add-host {spec!r}: expected NAME:MEMORY_MIB[:RESERVED_MIB]", hint)
    memory = _mib("--add-host", spec, parts[1], hint)
    reserved = _mib("--add-host", spec, parts[2], hint, minimum=0) if len(parts) > 2 else 0
    return Host(name=parts[0], memory_mib=memory, reserved_mib=reserved)


def _new_priority(spec: str) -> tuple[str, Priority]:
    name, sep, priority = spec.rpartition("=")
    if not sep or not name:
        fail(f"--set-priority {spec!r}: expected NAME=PRIORITY", "e.g. 'web 1=restart'")
    if priority not in PRIORITIES:
        fail(f"--set-priority {spec!r}: unknown priority {priority!r}", PRIORITY_HINT)
    return name, PRIORITIES[priority]


def _change(
    add_vm: list[str],
    remove_vm: list[str],
    set_priority: list[str],
    add_host: list[str],
    remove_host: list[str],
    set_ntol: int | None,
) -> PoolChange | None:
    """The what-if change the options describe, or None when they describe none."""
    if not (add_vm or remove_vm or set_priority or add_host or remove_host) and set_ntol is None:
        return None
    return PoolChange(
        add_hosts=tuple(_new_host(s) for s in add_host),
        remove_hosts=tuple(remove_host),
        add_vms=tuple(_new_vm(s) for s in add_vm),
        remove_vms=tuple(remove_vm),
        set_priority=tuple(_new_priority(s) for s in set_priority),
        set_ntol=set_ntol,
    )


def _describe(change: PoolChange) -> list[str]:
    def priority(p: str) -> str:
        return p or "unprotected"

    lines = [
        f"add host {h.name!r} ({h.memory_mib} MiB, {h.reserved_mib} reserved)"
        for h in change.add_hosts
    ]
    lines += [f"remove host {n!r} (its VMs become halted)" for n in change.remove_hosts]
    lines += [
        f"add VM {v.name!r} ({v.memory_mib} MiB, {priority(v.ha_restart_priority)}, "
        + (f"running on {v.host!r})" if v.host else "halted)")
        for v in change.add_vms
    ]
    lines += [f"remove VM {n!r}" for n in change.remove_vms]
    lines += [f"set the priority of VM {n!r} to {priority(p)}" for n, p in change.set_priority]
    if change.set_ntol is not None:
        lines.append(f"set host_failures_to_tolerate to {change.set_ntol}")
    return lines


# --- tables ---------------------------------------------------------------------------------


def _host_rows(pool: Pool) -> list[dict[str, Any]]:
    return [
        {
            "name": h.name,
            "memory_mib": h.memory_mib,
            "reserved_mib": h.reserved_mib,
            "free_mib": pool.free_mib(h.name),
            "running_vms": len(pool.vms_on(h.name)),
            "protected_vms": sum(v.protected for v in pool.vms_on(h.name)),
        }
        for h in pool.hosts
    ]


NUMERIC = {"memory MiB", "reserved MiB", "free MiB", "VMs", "protected", "order"}


def _table(title: str, *columns: str) -> Table:
    table = Table(title=escape(title), title_justify="left")
    for name in columns:
        table.add_column(name, justify="right" if name in NUMERIC else "left")
    return table


def _column_table(title: str, lines: list[str]) -> Table:
    table = Table(title=escape(title), title_justify="left", show_header=False)
    table.add_column()
    for line in lines:
        table.add_row(escape(line))
    return table


def _hosts_table(pool: Pool) -> Table:
    table = _table("Hosts", "host", "memory MiB", "reserved MiB", "VMs", "protected", "free MiB")
    for row in _host_rows(pool):
        table.add_row(
            escape(row["name"]),
            str(row["memory_mib"]),
            str(row["reserved_mib"]),
            str(row["running_vms"]),
            str(row["protected_vms"]),
            str(row["free_mib"]),
        )
    return table


def _capacity_table(c: FailureCapacity, title: str) -> Table:
    table = Table(title=escape(title), title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    k = c.max_host_failures_to_tolerate
    if c.exact:
        answer = f"[green]{k}[/green] (exact)"
    elif c.method == "xapi":
        answer = f"[yellow]{k}[/yellow] (XenServer's heuristic: proven, but it may be too low)"
    else:
        answer = (
            f"[yellow]{k}[/yellow] proven, at most {c.upper_bound} "
            "(not exact: the work limit ran out first)"
        )
    table.add_row("max host failures to tolerate", answer)
    state = "[red]overcommitted[/red]" if c.overcommitted else "[green]met[/green]"
    table.add_row("configured (ntol)", f"{c.host_failures_to_tolerate}: {state}")
    if c.worst_failure_set is not None:
        names = escape(", ".join(c.worst_failure_set))
        worst = (
            f"{names}: failing together, their protected VMs cannot all restart on the others"
            if len(c.worst_failure_set) > 1
            else f"{names}: its protected VMs cannot all restart on the other hosts"
        )
    elif c.method == "xapi" and not c.exact:
        worst = "none: a packing heuristic cannot prove that a failure set breaks the pool"
    else:
        worst = "none: every host but one may fail"
    table.add_row("worst failure set", worst)
    table.add_row("method", c.method)
    if c.method == "exact":
        s = c.stats
        table.add_row(
            "failure sets decided by",
            f"bounds {s.failure_sets_decided_by_bounds:,}, "
            f"greedy {s.failure_sets_decided_by_greedy:,}, "
            f"CP-SAT {s.failure_sets_decided_by_cpsat:,} "
            f"({s.cpsat_calls:,} call{'' if s.cpsat_calls == 1 else 's'})",
        )
    return table


def _xapi_note(gave_up: dict[str, Any]) -> str:
    order = gave_up["failure_order"]
    where = f": failing {escape(' then '.join(order))} left a protected VM out" if order else ""
    n = gave_up["failures"]
    return (
        f"XenServer's planner gave up at {n} failure{'' if n == 1 else 's'} "
        f"({gave_up['heuristic']} heuristic{where})."
    )


def _restart_tables(pool: Pool, plan: RestartPlan) -> list[Table | str]:
    failed = ", ".join(plan.failed_hosts)
    title = f"Restart plan for the failure of {failed}"
    if not plan.optimal:
        title += " (best found within the work limit, not proven optimal)"
    out: list[Table | str] = []
    placed = _table(title, "VM", "priority", "order", "memory MiB", "from", "to")
    for p in plan.placements:
        vm = pool.vm(p.vm)
        placed.add_row(
            escape(vm.name),
            vm.ha_restart_priority,
            str(vm.order),
            str(vm.footprint),
            escape(vm.host or ""),
            escape(p.host),
        )
    out.append(placed if plan.placements else escape(f"{title}: no VM to restart."))
    if plan.not_restarted:
        left = _table("Not restarted", "VM", "priority", "reason")
        for n in plan.not_restarted:
            left.add_row(escape(n.vm), pool.vm(n.vm).ha_restart_priority or "-", escape(n.reason))
        out.append(left)
    return out


def _evacuation_tables(pool: Pool, result: EvacuationPlan) -> list[Table | str]:
    host = escape(result.host)
    verdict = "[green]possible[/]" if result.possible else "[red]NOT possible[/]"
    out: list[Table | str] = [f"Evacuation of {host}: {verdict}"]
    moves = _table("Moves", "VM", "memory MiB", "to")
    for m in result.moves:
        moves.add_row(escape(m.vm), str(pool.vm(m.vm).footprint), escape(m.host))
    if result.moves:
        out.append(moves)
    elif not result.cannot_move:
        out.append(f"{host} runs no VM: nothing to move.")
    if result.cannot_move:
        stuck = _table("Cannot move", "VM", "reason")
        for n in result.cannot_move:
            stuck.add_row(escape(n.vm), escape(n.reason))
        out.append(stuck)
    if result.capacity_after is not None:
        title = f"The pool once {result.host} is empty"
        out.append(_capacity_table(result.capacity_after, title))
        holds = "[green]still holds[/green]" if result.ntol_holds else "[red]no longer holds[/red]"
        out.append(f"The configured host_failures_to_tolerate {holds} during the maintenance.")
    return out
