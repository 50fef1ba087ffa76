"""`haplan audit timeline|explain|verify|export`: thin commands over the pure audit core.

Every `haplan` command imports this module to list these commands, so the audit core (and
the planner under it) and the shells that use it (source, export, render) are imported
inside the commands.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from services.cli.app import app
from services.cli.events import JsonFlag, NatsServers
from services.cli.output import console, emit_json, fail

if TYPE_CHECKING:
    from services.audit import Entry, Explainer, TimelineRow, Verifier
    from services.cli.audit.source import LogSource

audit_app = typer.Typer(
    help="Audits of the event log: what happened, why a VM is where it is, and whether every "
    "decision would be made again. Read from NATS, or offline from an export (--file).",
    no_args_is_help=True,
)
app.add_typer(audit_app, name="audit")

FileOption = Annotated[
    Path | None,
    typer.Option(
        "--file",
        metavar="FILE",
        help="Read this export (`haplan audit export`) instead of NATS: offline.",
    ),
]
# Beyond this many rows a table takes longer to draw than to read: print plain lines.
TABLE_ROWS = 2000


def _when(option: str, text: str | None, now: datetime) -> datetime | None:
    if text is None:
        return None
    from services.audit import BadTime, parse_when

    try:
        return parse_when(text, now)
    except BadTime as exc:
        fail(f"{option}: {exc}")


@audit_app.command("timeline")
def timeline(
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="T",
            help="From this time: ISO 8601 (UTC by default) or an age: 90s, 10m, 2h, 3d, 1w.",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", metavar="T", help="Up to this time, same forms as --since."),
    ] = None,
    host: Annotated[
        list[str] | None,
        typer.Option("--host", metavar="HOST", help="Only events naming this host (repeatable)."),
    ] = None,
    vm: Annotated[
        list[str] | None,
        typer.Option("--vm", metavar="VM", help="Only events naming this VM (repeatable)."),
    ] = None,
    as_json: JsonFlag = False,
    file: FileOption = None,
    nats: NatsServers = None,
) -> None:
    """What happened, in log order: one row per event (one JSON object per line with --json).

    Filters combine: --host and --vm keep events naming one of the hosts AND one of the VMs.
    """
    from services.audit import TimelineFilter, timeline_row
    from services.cli.audit.source import open_source, report_unreadable

    now = datetime.now(UTC)
    only = TimelineFilter(
        since=_when("--since", since, now),
        until=_when("--until", until, now),
        hosts=frozenset(host or ()),
        vms=frozenset(vm or ()),
    )
    if only.since and only.until and only.since > only.until:
        fail("--since is after --until", "give --since an earlier time than --until")
    source = open_source(file, nats)
    rows: list[TimelineRow] = []

    def consume(entry: Entry) -> None:
        if not only.matches(entry):
            return
        r = timeline_row(entry)
        if as_json:
            sys.stdout.write(json.dumps(r.to_json()) + "\n")
        else:
            rows.append(r)

    try:
        asyncio.run(
            source.replay(consume, label="reading the event log", show_progress=not as_json)
        )
    except BrokenPipeError:
        # `| head`: the reader has all it wanted. Point stdout at nothing so that Python's
        # final flush does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    if not as_json:
        _print_timeline(rows)
    report_unreadable(source)


def _print_timeline(rows: list[TimelineRow]) -> None:
    from services.cli.audit.render import timeline_line, timeline_table

    if not rows:
        console.print("No event matches.")
    elif len(rows) <= TABLE_ROWS:
        console.print(timeline_table(rows))
    else:
        for r in rows:
            console.print(timeline_line(r), markup=False, highlight=False, soft_wrap=True)


@audit_app.command("explain")
def explain(
    vm: Annotated[
        str, typer.Argument(metavar="VM", help="The VM's name, as in the pool.", show_default=False)
    ],
    as_json: JsonFlag = False,
    file: FileOption = None,
    nats: NatsServers = None,
) -> None:
    """Why the VM is where it is now: from the failure, its evidence and the decision,
    through the plan and the constraints that bound each order, to the start."""
    from services.audit import Explainer
    from services.cli.audit.render import explanation_tree
    from services.cli.audit.source import open_source, report_unreadable

    source = open_source(file, nats)
    explainer = Explainer(vm)
    asyncio.run(
        source.replay(explainer.feed, label="reading the event log", show_progress=not as_json)
    )
    report_unreadable(source)
    x = explainer.explanation()
    if x is None:
        _unknown_vm(vm, explainer)
    if as_json:
        emit_json(x.to_json())
    else:
        console.print(explanation_tree(x))


def _unknown_vm(vm: str, explainer: Explainer) -> NoReturn:
    if not explainer.state.exists:
        fail(
            "the event log holds no pool yet",
            "load one with `haplan pool create`, or point --nats / --file at another log",
        )
    close = difflib.get_close_matches(vm, explainer.known_vms(), n=3)
    guess = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    fail(
        f"unknown VM {vm!r}: the event log names no VM of that name{guess}",
        "list the VMs with `haplan pool export`, or `haplan audit timeline --json`",
    )


@audit_app.command("verify")
def verify(
    as_json: JsonFlag = False,
    file: FileOption = None,
    nats: NatsServers = None,
    work_limit: Annotated[
        float,
        typer.Option(
            "--work-limit",
            min=0.001,
            metavar="SECONDS",
            help="Planner work per question, in deterministic seconds.",
        ),
    ] = 60.0,
) -> None:
    """Replay the log and re-run the pure decision code on every decision it records.

    Exit 0 when every decision would be made again, 1 when some would not (listed with what
    differs). Decisions that cannot be re-checked are listed but do not fail the audit.
    """
    from services.audit import PlannerCache, Verifier
    from services.cli.audit.render import verify_tables, verify_verdict
    from services.cli.audit.source import open_source, report_unreadable

    source = open_source(file, nats)
    verifier = Verifier(planner=PlannerCache(work_limit))
    asyncio.run(_verify(source, verifier, show_progress=not as_json))
    report = verifier.report()
    report.malformed = source.malformed
    if as_json:
        emit_json(report.to_json())
    else:
        for table in verify_tables(report):
            console.print(table)
        console.print(verify_verdict(report), soft_wrap=True)
    report_unreadable(source)
    if not report.ok:
        raise typer.Exit(1)


async def _verify(source: LogSource, verifier: Verifier, *, show_progress: bool) -> None:
    from services.audit import Snapshots

    await source.replay(verifier.feed, label="verifying the event log", show_progress=show_progress)
    bases = verifier.deferred_bases()
    if bases:
        # Plans based on states older than the verifier keeps: one more pass rebuilds them.
        snapshots = Snapshots(bases)
        await source.replay(
            snapshots.feed, label="replaying for older plans", show_progress=show_progress
        )
        verifier.resolve(snapshots.finish())


@audit_app.command("export")
def export(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="Write the log here, one event per line ('-': standard output).",
            show_default=False,
        ),
    ],
    as_json: JsonFlag = False,
    nats: NatsServers = None,
) -> None:
    """Write the event log as JSON lines (one event per line, with its sequence), for audits
    offline with --file."""
    from services.cli.audit.export import export_log

    result = export_log(file, nats, show_progress=not as_json and str(file) != "-")
    if str(file) == "-":
        return
    if as_json:
        emit_json(result)
    else:
        console.print(
            f"{result['events']:,} event(s) (log up to sequence {result['last_seq']}) written "
            f"to {file}.",
            soft_wrap=True,
        )


@audit_app.command("report")
def report(
    out: Annotated[
        Path,
        typer.Option("-o", "--output", metavar="FILE", help="Write the HTML report here.",
                     show_default=False),
    ],
    file: FileOption = None,
    nats: NatsServers = None,
    as_json: JsonFlag = False,
) -> None:
    """One self-contained HTML page of what happened: a lane per host (live, suspected,
    fenced, dead, maintenance) and per VM that moved, the decisions with their evidence on
    hover, the plan's max failures over time, and why each VM that moved is where it is.
    Opens without a network: nothing is loaded from elsewhere."""  # fmt: skip
    try:
        import plotly  # noqa: F401
    except ImportError:
        fail("the report needs Plotly, which is not installed",
             "pip install 'haplan[report]'")  # fmt: skip
    from services.audit.report import build_report
    from services.cli.audit.report_page import page
    from services.cli.audit.source import open_source, report_unreadable

    source = open_source(file, nats)
    entries: list[Entry] = []
    asyncio.run(
        source.replay(entries.append, label="reading the event log", show_progress=not as_json)
    )
    report_unreadable(source)
    if not entries:
        fail("the event log holds no event: nothing to report",
             "point --file or --nats at a log (`haplan audit export` writes one)")  # fmt: skip
    built = build_report(entries)
    try:
        out.write_text(page(built), encoding="utf-8")
    except OSError as exc:
        fail(f"{out}: cannot write the report: {exc.strerror or exc}")
    summary = {"output": str(out), "events": built.events, "hosts": list(built.hosts),
               "moved": list(built.moved), "markers": len(built.markers)}  # fmt: skip
    if as_json:
        emit_json(summary)
    else:
        console.print(f"Report of {built.events} event(s), {len(built.moved)} VM(s) moved, "
                      f"written to {out}.", soft_wrap=True)  # fmt: skip
