"""`haplan sim`: the deterministic fault simulator (spec/cli.md, Simulator and audit).

Runs seeded random fault schedules (or, with --exhaustive, every per-host combination of the
small-pool grid) against the real collector and arbiter cores and checks the invariants on
every step. Exit 1 when any invariant broke; the first violation is printed with its seed, a
shrunk schedule and the trace that reproduces it. `--report` prints how long the article's
faults take to handle instead.

The simulator is imported when a simulation runs, not when `haplan` starts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from services.cli.app import app
from services.cli.output import console, emit_json, fail

if TYPE_CHECKING:
    from services.sim.batch import Summary, random_batch
else:

    def random_batch(*args: Any, **kwargs: Any) -> Any:
        """services.sim.batch.random_batch, imported on first use. A name of this module so
        that tests can plug in a simulator with a broken table."""
        from services.sim.batch import random_batch as run

        return run(*args, **kwargs)


EXIT_VIOLATION = 1
TRACE_LINES = 40


@app.command("sim")
def sim(
    hosts: Annotated[
        int | None,
        typer.Option(
            "--hosts",
            help="Hosts per pool (random: 2-5 if not given; exhaustive: 2 or 3, default both).",
        ),
    ] = None,
    schedules: Annotated[
        int, typer.Option("--schedules", help="How many random schedules to run.")
    ] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the first random schedule.")] = 1,
    exhaustive: Annotated[
        bool,
        typer.Option(
            "--exhaustive",
            help="Run the exhaustive grid of 2 and 3-host pools (2 also with a hostile host).",
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", metavar="T", help="ha.timeout_s of the simulated pools.")
    ] = 30.0,
    workers: Annotated[
        int, typer.Option("--workers", help="Worker processes; 0 uses up to 2.")
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    report: Annotated[
        bool,
        typer.Option("--report", help="Time from each fault to host declared dead and restart."),
    ] = False,
) -> None:
    """Simulate faults against the liveness and fencing cores; exit 1 on any violation."""
    if timeout <= 0:
        fail(f"--timeout must be a positive number of seconds, not {timeout:g}")
    if report:
        _report(as_json)
        return
    if schedules < 1:
        fail(f"--schedules must be at least 1, not {schedules}")
    if hosts is not None and hosts < 2:
        fail(
            f"--hosts {hosts}: a pool needs at least 2 hosts to fail over", "use --hosts 2 or more"
        )
    if exhaustive and hosts is not None and hosts > 3:
        fail(
            f"--exhaustive covers 2 or 3 hosts, not {hosts}",
            "drop --hosts, or use random schedules for bigger pools",
        )
    if workers < 0:
        fail(f"--workers must be 0 (automatic) or more, not {workers}")
    n_workers = workers or min(2, os.cpu_count() or 1)
    show = not as_json and console.is_terminal
    if exhaustive:
        sizes = (hosts,) if hosts is not None else (2, 3)
        summary = _exhaustive(sizes, timeout, n_workers, show)
    else:
        with _progress("random schedules", schedules, show) as tick:
            summary = random_batch(
                seed, schedules, hosts, timeout, workers=n_workers, on_progress=tick
            )
    if as_json:
        emit_json(summary.to_json())
    else:
        _print_summary(summary, hosts, timeout)
    if summary.violations:
        raise typer.Exit(EXIT_VIOLATION)


def _exhaustive(sizes: tuple[int, ...], timeout: float, workers: int, show: bool) -> Summary:
    from services.sim.batch import Summary, exhaustive_batch, run_schedules
    from services.sim.generate import exhaustive_count, exhaustive_hostile

    total = Summary("exhaustive", 0)
    for n in sizes:
        with _progress(f"exhaustive, {n} hosts", exhaustive_count(n), show) as tick:
            part = exhaustive_batch(n, timeout, workers=workers, on_progress=tick)
        _add(total, part)
        if n != 2:
            continue
        # Any one host may be hostile: the 2-host grid again with each host in turn forging
        # (the 3-host one would take 7,200 more schedules).
        hostile = list(exhaustive_hostile(n, timeout))
        with _progress(f"exhaustive, {n} hosts, one hostile", len(hostile), show) as tick:
            part = run_schedules(
                hostile, mode="exhaustive", seed=0, workers=workers, on_progress=tick
            )
        _add(total, part)
    return total


def _add(total: Summary, part: Summary) -> None:
    total.schedules += part.schedules
    total.violations += part.violations
    total.elapsed_s += part.elapsed_s
    if total.first is None:
        total.first = part.first


@contextmanager
def _progress(label: str, total: int, show: bool) -> Iterator[Callable[[int], None] | None]:
    if not show:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)


def _print_summary(summary: Summary, hosts: int | None, timeout: float) -> None:
    table = Table(title="Fault simulation", title_justify="left")
    for column in ("mode", "hosts", "schedules", "violations", "first seed", "elapsed"):
        table.add_column(column, justify="right" if column != "mode" else "left")
    size = "2, 3" if summary.mode == "exhaustive" and hosts is None else str(hosts or "2-5")
    table.add_row(
        summary.mode,
        size,
        f"{summary.schedules:,}",
        f"[red]{summary.violations:,}[/red]" if summary.violations else "0",
        str(summary.seed) if summary.mode == "random" else "-",
        f"{summary.elapsed_s:.1f}s",
    )
    console.print(table)
    first = summary.first
    if first is None:
        console.print("Every invariant held on every step.")
        return
    console.print(f"[red]{first.violation.describe()}[/red]", highlight=False, soft_wrap=True)
    if summary.mode == "random":
        again = f"haplan sim --seed {first.schedule.seed} --schedules 1 --timeout {timeout:g}"
        if hosts is not None:
            again += f" --hosts {hosts}"
    else:
        again = f"haplan sim --exhaustive --hosts {len(first.schedule.pool.hosts)}"
    console.print(
        f"seed {first.schedule.seed}; reproduce with: {again}", highlight=False, soft_wrap=True
    )
    console.print(
        f"shrunk from {len(first.schedule.faults)} to {len(first.shrunk.faults)} fault(s):",
        highlight=False,
    )
    for fault in first.shrunk.faults:
        console.print(f"  {fault.describe()}", markup=False, highlight=False, soft_wrap=True)
    console.print("trace of the shrunk schedule:")
    for line in first.trace[-TRACE_LINES:]:
        console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)


def _report(as_json: bool) -> None:
    from services.sim.report import TIMEOUTS, figures

    rows = figures()
    if as_json:
        emit_json({"report": [f.to_json() for f in rows]})
        return
    table = Table(
        title="Simulated time from pulling a cable on lab1 (lab pool, Minion 1 on lab1)",
        title_justify="left",
    )
    table.add_column("fault")
    table.add_column("T")
    table.add_column("T_dead", justify="right")
    table.add_column("lab1 fenced", justify="right")
    table.add_column("declared dead", justify="right")
    table.add_column("restart ordered", justify="right")
    table.add_column("Minion 1 running", justify="right")
    for f in rows:
        table.add_row(
            f.fault,
            f"{f.timeout_s:g}s",
            f"{f.t_dead_s:g}s",
            _s(f.fenced_after_s),
            _s(f.declared_dead_after_s),
            _s(f.restart_ordered_after_s),
            _s(f.running_again_after_s),
        )
    console.print(table)
    console.print(
        f"T = {', '.join(f'{t:g}' for t in TIMEOUTS)} s. Power: declared dead by timeout; "
        "storage and network: lab1 fences and is declared dead from its mark; hang: the "
        "watchdog kills Minion 1 before lab1 is declared dead by timeout."
    )
    if not all(f.ok for f in rows):
        raise typer.Exit(EXIT_VIOLATION)


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"
