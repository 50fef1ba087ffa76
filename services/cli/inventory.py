"""`haplan host list` and `haplan vm list`: the running pool's hosts and VMs, filtered.

Both read exactly what `haplan status` reads (the arbiter leader's status, else the event
log's view with no leader, said on stderr), so a list never disagrees with `status`. The
filters are pure functions over that status object; an unknown host given to `--host` is bad
input (exit 2), as `host status` treats it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from services.cli.events import JsonFlag, NatsServers, bus_settings
from services.cli.host import find_host, host_app
from services.cli.output import console, emit_json
from services.cli.vm import vm_app
from services.common.state_styles import HOST_STATE_STYLE, POWER_STYLE

if TYPE_CHECKING:
    from services.common.settings import BusSettings


class HostStateChoice(StrEnum):
    """Host states of the status contract (spec/cli.md)."""

    live = "live"
    joining = "joining"
    excluded = "excluded"
    fenced = "fenced"
    dead = "dead"


class PowerChoice(StrEnum):
    """VM power states: the contract's, plus `stopped` (its host fenced or is dead, not yet
    recorded) and `failed` (HA gave up on it)."""

    running = "running"
    stopped = "stopped"
    restarting = "restarting"
    unplaceable = "unplaceable"
    halted = "halted"
    failed = "failed"


class PriorityChoice(StrEnum):
    restart = "restart"
    best_effort = "best-effort"
    unprotected = "unprotected"


def vm_counts(status: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Per host: how many VMs the status places there, and how many of them are protected."""
    counts: dict[str, tuple[int, int]] = {}
    for vm in status.get("vms", []):
        host = vm.get("host")
        if host is None:
            continue
        total, protected = counts.get(str(host), (0, 0))
        counts[str(host)] = (total + 1, protected + (vm.get("ha_restart_priority") == "restart"))
    return counts


def host_rows(status: dict[str, Any], state: str | None = None) -> list[dict[str, Any]]:
    """The `host list --json` rows: each host of `status` in `state` (any when None), with
    its VM counts (pure)."""
    counts = vm_counts(status)
    return [
        {**host, "vms": counts.get(str(host.get("name")), (0, 0))[0],
         "protected_vms": counts.get(str(host.get("name")), (0, 0))[1]}
        for host in status.get("hosts", [])
        if state is None or host.get("state") == state
    ]  # fmt: skip


def _priority(vm: dict[str, Any]) -> str:
    return str(vm.get("ha_restart_priority") or "") or PriorityChoice.unprotected.value


def vm_rows(
    status: dict[str, Any],
    host: str | None = None,
    power_state: str | None = None,
    priority: str | None = None,
) -> list[dict[str, Any]]:
    """The `vm list --json` rows: the VMs of `status` on `host`, in `power_state`, of
    `priority` ("unprotected" for none); a filter left None matches every VM (pure). An unknown
    host is bad input (exit 2)."""
    if host is not None:
        find_host(status, host)
    return [
        dict(vm)
        for vm in status.get("vms", [])
        if (host is None or vm.get("host") == host)
        and (power_state is None or vm.get("power_state") == power_state)
        and (priority is None or _priority(vm) == priority)
    ]


def hosts_list_table(rows: list[dict[str, Any]]) -> Table | str:
    if not rows:
        return "No host matches."
    table = Table(title="Hosts", title_justify="left")
    for column in ("host", "state", "in liveset", "VMs", "protected", "incarnation"):
        table.add_column(column, justify="right" if column in ("VMs", "protected") else "left")
    for h in rows:
        state = str(h.get("state"))
        style = HOST_STATE_STYLE.get(state)
        shown = f"[{style}]{escape(state)}[/{style}]" if style else escape(state)
        if h.get("suspected"):
            shown += " [yellow](suspected)[/yellow]"
        member = "[green]yes[/green]" if h.get("in_liveset") else "[red]no[/red]"
        table.add_row(escape(str(h.get("name"))), shown, member, str(h.get("vms", 0)),
                      str(h.get("protected_vms", 0)),
                      escape(str(h.get("incarnation") or "-")))  # fmt: skip
    return table


def vms_list_table(rows: list[dict[str, Any]]) -> Table | str:
    if not rows:
        return "No VM matches."
    table = Table(title="VMs", title_justify="left")
    for column in ("VM", "host", "power state", "priority", "order", "memory MiB"):
        table.add_column(column, justify="right" if column in ("order", "memory MiB") else "left")
    for v in rows:
        power = str(v.get("power_state"))
        style = POWER_STYLE.get(power)
        shown = f"[{style}]{escape(power)}[/{style}]" if style else escape(power)
        table.add_row(escape(str(v.get("name"))), escape(str(v.get("host") or "-")), shown,
                      escape(_priority(v)), str(v.get("order", "-")),
                      str(v.get("memory_mib", "-")))  # fmt: skip
    return table


async def _status(settings: BusSettings, show_progress: bool) -> dict[str, Any]:
    from services.cli.ops import bus
    from services.cli.status import current_status

    async with bus(settings) as nc:
        return await current_status(nc, settings, show_progress)


def _current(nats: str | None, as_json: bool) -> dict[str, Any]:
    from services.cli.status import warn_no_leader

    status = asyncio.run(_status(bus_settings(nats), show_progress=not as_json))
    if status.get("leader") is None:
        warn_no_leader()
    return status


def _show(
    rows: list[dict[str, Any]], table: Callable[[list[dict[str, Any]]], Table | str], as_json: bool
) -> None:
    if as_json:
        emit_json(rows)
    else:
        console.print(table(rows))


StateOption = Annotated[
    HostStateChoice | None, typer.Option("--state", help="Only the hosts in this state.")
]


@host_app.command("list")
def host_list(
    state: StateOption = None, as_json: JsonFlag = False, nats: NatsServers = None
) -> None:
    """The pool's hosts: state, liveset membership, how many VMs (protected) each runs.

    --json prints a list of objects (the host entries of `haplan status --json`, plus `vms`
    and `protected_vms`)."""
    rows = host_rows(_current(nats, as_json), state.value if state else None)
    _show(rows, hosts_list_table, as_json)


@vm_app.command("list")
def vm_list(
    host: Annotated[
        str | None, typer.Option("--host", metavar="HOST", help="Only the VMs on this host.")
    ] = None,
    power_state: Annotated[
        PowerChoice | None, typer.Option("--state", help="Only the VMs in this power state.")
    ] = None,
    priority: Annotated[
        PriorityChoice | None,
        typer.Option("--priority", help="Only the VMs of this HA restart priority."),
    ] = None,
    protected: Annotated[
        bool, typer.Option("--protected", help="Only protected VMs (--priority restart).")
    ] = False,
    as_json: JsonFlag = False,
    nats: NatsServers = None,
) -> None:
    """The pool's VMs: where each runs, its power state, HA priority, order and memory.

    --json prints a list of objects (the VM entries of `haplan status --json`)."""
    from services.cli.output import fail
    from services.cli.xe_params import named

    if protected and priority not in (None, PriorityChoice.restart):
        fail(
            "--protected and --priority name different VMs",
            "give one of them, see 'haplan vm list --help'",
        )
    wanted = PriorityChoice.restart.value if protected else (priority.value if priority else None)
    where = named("host", host) if host is not None else None
    status = _current(nats, as_json)
    rows = vm_rows(status, where, power_state.value if power_state else None, wanted)
    _show(rows, vms_list_table, as_json)
