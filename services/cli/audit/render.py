"""How audits look on a terminal: rich tables and trees built from the core's results."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from services.audit import Explanation, Step, TimelineRow, VerifyReport


def _when(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S}"


def timeline_table(rows: list[TimelineRow]) -> Table:
    table = Table(title="Audit timeline", title_justify="left")
    table.add_column("seq", justify="right")
    table.add_column("at (UTC)")
    table.add_column("event")
    table.add_column("host")
    table.add_column("VM")
    table.add_column("what happened")
    for r in rows:
        table.add_row(str(r.seq), _when(r.at), r.type, _names(r.hosts), _names(r.vms), r.summary)
    return table


def _names(names: tuple[str, ...]) -> str:
    if len(names) > 3:
        return f"{', '.join(names[:3])} +{len(names) - 3}"
    return ", ".join(names)


def timeline_line(r: TimelineRow) -> str:
    """One plain line per event, for timelines too long for a table."""
    return f"{r.seq:>8}  {_when(r.at)}  {r.type:<22}  {r.summary}"


def _step(parent: Tree, s: Step) -> None:
    node = parent.add(
        f"[dim]#{s.seq} {_when(s.at)}[/dim]  [bold]{escape(s.role)}[/bold]: {escape(s.summary)}"
    )
    for key, value in s.facts:
        node.add(f"[cyan]{escape(key)}[/cyan]: {escape(value)}")


def explanation_tree(x: Explanation) -> Tree:
    where = f"on {x.host}" if x.host else x.power_state
    tree = Tree(f"[bold]VM {escape(repr(x.vm))}[/bold]: {escape(where)} (log up to #{x.last_seq})")
    tree.add(f"[green]{escape(x.verdict)}[/green]")
    protection = tree.add("[bold]protection[/bold]")
    for key, value in x.protection:
        protection.add(f"[cyan]{escape(key)}[/cyan]: {escape(value)}")
    history = tree.add("[bold]configuration[/bold]")
    if x.created is not None:
        _step(history, x.created)
    for s in x.configuration:
        _step(history, s)
    if x.chain:
        title = "[bold]how it got here[/bold]"
        if x.earlier_losses:
            title += f" [dim]({x.earlier_losses} earlier stop(s) not shown)[/dim]"
        chain = tree.add(title)
        for s in x.chain:
            _step(chain, s)
    return tree


def verify_tables(report: VerifyReport) -> list[Table]:
    differs = Counter(f.type for f in report.differences)
    unsure = Counter(f.type for f in report.unconfirmed)
    summary = Table(title="Decisions re-checked", title_justify="left")
    summary.add_column("decision")
    summary.add_column("checked", justify="right")
    summary.add_column("would differ", justify="right")
    summary.add_column("unconfirmed", justify="right")
    for kind, count in sorted(report.checked.items()):
        bad = differs.get(kind, 0)
        summary.add_row(
            kind, f"{count:,}", f"[red]{bad:,}[/red]" if bad else "0", f"{unsure.get(kind, 0):,}"
        )
    tables = [summary]
    for title, findings, style in (
        ("Decisions that would not be made again", report.differences, "red"),
        ("Decisions that could not be re-checked", report.unconfirmed, "yellow"),
    ):
        if not findings:
            continue
        table = Table(title=title, title_justify="left", title_style=style)
        table.add_column("seq", justify="right")
        table.add_column("decision")
        table.add_column("about")
        table.add_column("what differs" if style == "red" else "why")
        for f in findings:
            table.add_row(str(f.seq), f.type, f.subject, f.problem)
        tables.append(table)
    return tables


def verify_verdict(report: VerifyReport) -> str:
    events = f"{report.events:,} event(s) replayed"
    if report.ok and report.decisions == 0:
        # "All 0 decisions would be made again" reads as a pass; nothing was checked.
        return f"[yellow]The log holds no decision to re-check[/yellow] ({events})."
    if report.ok:
        line = (
            f"[green]All {report.decisions:,} decision(s) would be made again[/green] ({events})."
        )
    else:
        bad = len({f.seq for f in report.differences})
        line = f"[red]{bad:,} decision(s) would not be made again[/red] ({events})."
    if report.unconfirmed:
        unsure = len({f.seq for f in report.unconfirmed})
        line += f" [yellow]{unsure:,} could not be re-checked.[/yellow]"
    return line
