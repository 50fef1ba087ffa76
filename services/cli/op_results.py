"""What an operator request did, on a terminal: the request restated as done, then what the
leader's reply detail lists (the moves of an evacuation first). Pure: objects in, renderables
out."""

from __future__ import annotations

import json
from typing import Any

from rich.markup import escape
from rich.table import Table

from schemas.ops import (
    HADisable,
    HAEnable,
    HostEnable,
    HostEvacuate,
    HostPowerOn,
    HostTrust,
    OpRequest,
    PoolSet,
    VMMigrate,
    VMSet,
    VMShutdown,
    VMStart,
)

Renderable = Table | str


def done_line(op: OpRequest, detail: dict[str, Any]) -> str:
    """What the operator asked for, said as done: the leader accepted it."""
    if isinstance(op, HAEnable):
        return "HA is [green]enabled[/green]: protected VMs are restarted after host failures."
    if isinstance(op, HADisable):
        return "HA is [red]disabled[/red]: nothing is restarted until `haplan pool ha-enable`."
    if isinstance(op, PoolSet | VMSet):
        fields = op.model_dump(exclude={"verb", "vm"}, exclude_none=True)
        pairs = ", ".join(f"{k}={json.dumps(v)}" for k, v in fields.items())
        where = f"VM [bold]{escape(op.vm)}[/bold]" if isinstance(op, VMSet) else "The pool"
        return f"{where} now has {escape(pairs)}."
    if isinstance(op, VMStart):
        host = op.host or detail.get("host")  # without --on, the leader says where
        on = f" on {escape(str(host))}" if host else ""
        return f"Start of VM [bold]{escape(op.vm)}[/bold]{on} ordered."
    if isinstance(op, VMShutdown):
        if detail.get("halted"):
            return (
                f"VM [bold]{escape(op.vm)}[/bold] is halted and stays halted "
                "(HA does not restart it)."
            )
        return (
            f"Shutdown of VM [bold]{escape(op.vm)}[/bold] ordered: it stays halted "
            "(HA does not restart it)."
        )
    if isinstance(op, VMMigrate):
        for said in ("vm", "to", "stopping"):  # the line says them
            detail.pop(said, None)
        source = detail.pop("from", None)
        if detail.pop("running", False):
            return (
                f"VM [bold]{escape(op.vm)}[/bold] runs on {escape(op.host)} "
                f"(stopped on {escape(str(source))} first)."
            )
        return (
            f"VM [bold]{escape(op.vm)}[/bold] is being stopped on "
            f"{escape(str(source))}: it starts on {escape(op.host)} once the stop is confirmed."
        )
    if isinstance(op, HostEvacuate):
        return f"Host [bold]{escape(op.host)}[/bold] is in maintenance: no new VMs go there."
    if isinstance(op, HostTrust):
        return (
            f"Host [bold]{escape(op.host)}[/bold] signs its slots with {escape(op.key)}: "
            "restart its collector with the matching --key."
        )
    if isinstance(op, HostPowerOn):
        answer = escape(str(detail.get("answer", "")))
        return (
            f"Host [bold]{escape(op.host)}[/bold] powered on ({answer}): its collector joins "
            "as a new incarnation."
        )
    assert isinstance(op, HostEnable)
    return f"Host [bold]{escape(op.host)}[/bold] left maintenance: it may receive VMs again."


def _rows(title: str, columns: tuple[str, str], rows: list[Any], keys: tuple[str, str]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        if isinstance(row, dict):
            table.add_row(*(escape(str(row.get(k, ""))) for k in keys))
        else:
            table.add_row(escape(str(row)), "")
    return table


def evacuation_view(op: OpRequest, detail: dict[str, Any]) -> list[Renderable]:
    """The moves (at the top level of the detail, or in its evacuation `plan`), the VMs that
    cannot move, and whether ntol holds meanwhile. Takes what it shows out of `detail`."""
    out: list[Renderable] = []
    plan = detail.pop("plan", None)
    plan = plan if isinstance(plan, dict) else {}
    moves = detail.pop("moves", plan.get("moves"))
    if isinstance(moves, list) and moves:
        out.append(_rows("Moves", ("VM", "to"), moves, ("vm", "host")))
    elif isinstance(op, HostEvacuate) and moves == []:
        out.append("It runs no VM: nothing to move.")
    stuck = plan.get("cannot_move")
    if isinstance(stuck, list) and stuck:
        out.append(_rows("Cannot move", ("VM", "reason"), stuck, ("vm", "reason")))
    if "ntol_holds" in plan:
        holds = "[green]still holds[/green]" if plan["ntol_holds"] else "[red]no longer holds[/red]"
        out.append(f"The configured host_failures_to_tolerate {holds} during the maintenance.")
    return out


def op_result(op: OpRequest, detail: dict[str, Any]) -> list[Renderable]:
    """The done line, the moves when the leader lists some, and the rest of the detail."""
    rest = dict(detail)
    line = done_line(op, rest)
    if rest.pop("changed", None) is False:
        line += " It already was: nothing changed."
    out: list[Renderable] = [line, *evacuation_view(op, rest)]
    if rest:
        table = Table(show_header=False)
        table.add_column(style="bold")
        table.add_column()
        for key, value in rest.items():
            shown = value if isinstance(value, str) else json.dumps(value)
            table.add_row(escape(key), escape(shown))
        out.append(table)
    return out
