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
    OpRequest,
    PoolSet,
    VMSet,
    VMShutdown,
    VMStart,
)

Renderable = Table | str


def done_line(op: OpRequest) -> str:
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
        on = f" on {escape(op.host)}" if op.host else ""
        return f"Start of VM [bold]{escape(op.vm)}[/bold]{on} ordered."
    if isinstance(op, VMShutdown):
        return (
            f"Shutdown of VM [bold]{escape(op.vm)}[/bold] ordered: it stays halted "
            "(HA does not restart it)."
        )
    if isinstance(op, HostEvacuate):
        return f"Host [bold]{escape(op.host)}[/bold] is in maintenance: no new VMs go there."
    assert isinstance(op, HostEnable)
    return f"Host [bold]{escape(op.host)}[/bold] left maintenance: it may receive VMs again."


def moves_table(moves: list[Any]) -> Table:
    table = Table(title="Moves", title_justify="left")
    table.add_column("VM")
    table.add_column("to")
    for m in moves:
        if isinstance(m, dict):
            table.add_row(escape(str(m.get("vm"))), escape(str(m.get("host") or m.get("to"))))
        else:
            table.add_row(escape(str(m)), "")
    return table


def op_result(op: OpRequest, detail: dict[str, Any]) -> list[Renderable]:
    """The done line, the moves when the leader lists some, and the rest of the detail."""
    out: list[Renderable] = [done_line(op)]
    rest = dict(detail)
    moves = rest.pop("moves", None)
    if isinstance(moves, list) and moves:
        out.append(moves_table(moves))
    elif isinstance(op, HostEvacuate) and moves == []:
        out.append("It runs no VM: nothing to move.")
    if rest:
        table = Table(show_header=False)
        table.add_column(style="bold")
        table.add_column()
        for key, value in rest.items():
            shown = value if isinstance(value, str) else json.dumps(value)
            table.add_row(escape(key), escape(shown))
        out.append(table)
    return out
