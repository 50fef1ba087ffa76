"""How the running system's commands look on a terminal: rich tables from the JSON objects the
commands print with --json (pure: objects in, renderables out)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from services.common.state_styles import HOST_STATE_STYLE, POWER_STYLE

if TYPE_CHECKING:
    from services.planner import FailureCapacity

Renderable = Table | str


def _styled(value: str, styles: Mapping[str, str]) -> str:
    style = styles.get(value)
    return f"[{style}]{escape(value)}[/{style}]" if style else escape(value)


def _yes(flag: object) -> str:
    return "[green]yes[/green]" if flag else "[red]no[/red]"


# haplan status ---------------------------------------------------------------------------------


def pool_line(status: dict[str, Any]) -> str:
    ha = "[green]on[/green]" if status.get("ha_enabled") else "[red]off[/red]"
    ntol = status.get("host_failures_to_tolerate")
    most = status.get("max_host_failures_to_tolerate")
    if most is None:
        capacity = "max failures not computed yet"
    elif status.get("overcommitted"):
        capacity = f"max failures {most}: [red]overcommitted[/red]"
    else:
        capacity = f"max failures {most}: [green]met[/green]"
    leader = status.get("leader")
    led = f"leader {escape(str(leader))}" if leader else "[red]no leader[/red]"
    return (
        f"Pool [bold]{escape(str(status.get('pool')))}[/bold]: HA {ha}, "
        f"host failures to tolerate {ntol} ({capacity}), {led}"
    )


def hosts_table(status: dict[str, Any]) -> Table:
    table = Table(title="Hosts", title_justify="left")
    for column in ("host", "state", "in liveset", "incarnation"):
        table.add_column(column)
    for h in status.get("hosts", []):
        state = _styled(str(h.get("state")), HOST_STATE_STYLE)
        if h.get("suspected"):
            state += " [yellow](suspected)[/yellow]"
        in_liveset = h.get("in_liveset")
        table.add_row(
            escape(str(h.get("name"))),
            state,
            "-" if in_liveset is None else _yes(in_liveset),
            escape(str(h.get("incarnation") or "-")),
        )
    return table


def vms_table(status: dict[str, Any]) -> Table | str:
    vms = status.get("vms", [])
    if not vms:
        return "The pool has no VM."
    table = Table(title="VMs", title_justify="left")
    for column in ("VM", "host", "power state"):
        table.add_column(column)
    for v in vms:
        table.add_row(
            escape(str(v.get("name"))),
            escape(str(v.get("host") or "-")),
            _styled(str(v.get("power_state")), POWER_STYLE),
        )
    return table


def guard_line(status: dict[str, Any]) -> str | None:
    """The guard against mass suspicion, when it holds (docs/protocol.md)."""
    guard = status.get("guard")
    if not guard:
        return None
    hosts = ", ".join(str(h) for h in guard.get("suspected", []))
    return (
        f"[bold yellow]Guard engaged[/bold yellow] since {escape(str(guard.get('engaged_at')))}: "
        f"{len(guard.get('suspected', []))} of {guard.get('members')} hosts suspected at once "
        f"({escape(hosts)}; share {guard.get('share')}); no host is declared dead on silence "
        "until they rejoin or say they fenced"
    )


def status_view(status: dict[str, Any]) -> list[Renderable]:
    guard = guard_line(status)
    head: list[Renderable] = [pool_line(status)] if guard is None else [pool_line(status), guard]
    return [*head, hosts_table(status), vms_table(status)]


# haplan host status ------------------------------------------------------------------------------


def host_status_view(view: dict[str, Any]) -> list[Renderable]:
    name = escape(str(view["host"]))
    member = view.get("in_liveset")
    head = (
        f"Host [bold]{name}[/bold]: [green]in the liveset[/green]"
        if member
        else f"Host [bold]{name}[/bold]: [red bold]NOT in the liveset[/red bold]"
    )
    if view.get("state") == "excluded":
        head += ", [yellow]in maintenance[/yellow] (no new VMs until `haplan host enable`)"
    out: list[Renderable] = [head]
    if view.get("reason"):
        out.append(f"[bold red]{escape(str(view['reason']))}[/bold red]")
    table = Table(show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("state (event log)", _styled(str(view.get("state")), HOST_STATE_STYLE))
    if view.get("suspected"):
        table.add_row("suspected", "[yellow]yes: its lease went silent[/yellow]")
    table.add_row("incarnation", escape(str(view.get("incarnation") or "-")))
    if view.get("collector"):
        table.add_row("phase (collector)", escape(str(view.get("phase"))))
        table.add_row("lease ok", _yes(view.get("lease_ok")))
        table.add_row("store ok", _yes(view.get("store_ok")))
        running = [f"{i['vm']} ({i['instance']})" for i in view.get("instances", [])]
        table.add_row("VMs running (collector)", escape(", ".join(running) or "none"))
    else:
        table.add_row("collector", f"[red]no collector answers for {name}[/red]")
    table.add_row("VMs here (event log)", escape(", ".join(view.get("vms", [])) or "none"))
    leader = view.get("leader")
    table.add_row("arbiter leader", escape(str(leader)) if leader else "[red]none[/red]")
    out.append(table)
    return out


# haplan pool compute-max-failures --------------------------------------------------------------


def host_rows_table(rows: list[dict[str, Any]]) -> Table:
    """The hosts table of `haplan plan`, from the `hosts` rows of its JSON form."""
    table = Table(title="Hosts", title_justify="left")
    table.add_column("host")
    for column in ("memory MiB", "reserved MiB", "VMs", "protected", "free MiB"):
        table.add_column(column, justify="right")
    keys = ("memory_mib", "reserved_mib", "running_vms", "protected_vms", "free_mib")
    for row in rows:
        table.add_row(escape(str(row.get("name"))), *(str(row.get(k, "-")) for k in keys))
    return table


def capacity_from_json(answer: dict[str, Any]) -> FailureCapacity:
    """The planner's result back from its JSON form, for plan_tables.capacity_table."""
    from services.planner.results import FailureCapacity, SearchStats

    worst = answer.get("worst_failure_set")
    return FailureCapacity(
        pool=str(answer["pool"]),
        max_host_failures_to_tolerate=int(answer["max_host_failures_to_tolerate"]),
        upper_bound=int(answer["upper_bound"]),
        exact=bool(answer["exact"]),
        host_failures_to_tolerate=int(answer["host_failures_to_tolerate"]),
        worst_failure_set=tuple(worst) if worst is not None else None,
        method=str(answer.get("method", "exact")),
        stats=SearchStats(**answer.get("stats", {})),
    )


def plan_view(answer: dict[str, Any]) -> list[Renderable]:
    from services.cli.plan_tables import capacity_table

    out: list[Renderable] = []
    if isinstance(answer.get("hosts"), list):
        out.append(host_rows_table(answer["hosts"]))
    capacity = capacity_from_json(answer)
    out.append(capacity_table(capacity, f"Pool {capacity.pool} (live, from the planner)"))
    return out
