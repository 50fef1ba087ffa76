"""How the planning commands look on a terminal: rich tables built from the planner's results.

Only the results' types come from the planner, so importing this module does not load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from schemas import Pool
from schemas.plan_hosts import host_rows

if TYPE_CHECKING:
    from services.planner import EvacuationPlan, FailureCapacity, RestartPlan

NUMERIC = {"memory MiB", "reserved MiB", "free MiB", "VMs", "protected", "order"}


def _table(title: str, *columns: str) -> Table:
    table = Table(title=escape(title), title_justify="left")
    for name in columns:
        table.add_column(name, justify="right" if name in NUMERIC else "left")
    return table


def column_table(title: str, lines: list[str]) -> Table:
    table = Table(title=escape(title), title_justify="left", show_header=False)
    table.add_column()
    for line in lines:
        table.add_row(escape(line))
    return table


def hosts_table(pool: Pool) -> Table:
    table = _table("Hosts", "host", "memory MiB", "reserved MiB", "VMs", "protected", "free MiB")
    for row in host_rows(pool):
        table.add_row(
            escape(row["name"]),
            str(row["memory_mib"]),
            str(row["reserved_mib"]),
            str(row["running_vms"]),
            str(row["protected_vms"]),
            str(row["free_mib"]),
        )
    return table


def capacity_table(c: FailureCapacity, title: str) -> Table:
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


def xapi_note(gave_up: dict[str, Any]) -> str:
    order = gave_up["failure_order"]
    where = f": failing {escape(' then '.join(order))} left a protected VM out" if order else ""
    n = gave_up["failures"]
    return (
        f"XenServer's planner gave up at {n} failure{'' if n == 1 else 's'} "
        f"({gave_up['heuristic']} heuristic{where})."
    )


def restart_tables(pool: Pool, plan: RestartPlan) -> list[Table | str]:
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


def evacuation_tables(pool: Pool, result: EvacuationPlan) -> list[Table | str]:
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
        out.append(capacity_table(result.capacity_after, title))
        holds = "[green]still holds[/green]" if result.ntol_holds else "[red]no longer holds[/red]"
        out.append(f"The configured host_failures_to_tolerate {holds} during the maintenance.")
    return out
