"""Many runs: seeded random schedules or the exhaustive grid, on worker processes.

Workers run without traces (fast); the first failure is then run again in this process with
its trace, and shrunk.
"""

from __future__ import annotations

import gc
import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from services.arbiter.testimony import Testimony, own_word
from services.collector.core import Collector
from services.collector.table import FENCE_TABLE, Row
from services.common.timers import Timers
from services.sim.engine import Sim
from services.sim.faults import Schedule
from services.sim.generate import EXHAUSTIVE_KILLS, exhaustive, random_schedule
from services.sim.invariants import Violation
from services.sim.shrink import shrink
from services.sim.world import Outcome

CHUNK = 25


@dataclass(frozen=True, slots=True)
class Variant:
    """The system under test: the real tables and timers unless a test swaps one in to prove
    the simulator catches it. Plain data, so that worker processes can receive it."""

    table: dict[tuple[bool, bool], Row] | None = None
    timers: Timers | None = None
    testimony: Testimony | None = None  # how the arbiter reads a host's signed slot
    collector: type[Collector] = Collector  # a module-level class, so that workers get it
    # The shells (collector, watchdog driver, arbiter) as simulated: a subclass breaks one
    # of their rules (module level too).
    sim: type[Sim] = Sim

    def run(self, schedule: Schedule, trace: bool = False) -> Outcome:
        table = MappingProxyType(self.table) if self.table is not None else FENCE_TABLE
        return self.sim(
            schedule,
            table=table,
            timers=self.timers,
            trace=trace,
            testimony=self.testimony or own_word,
            collector=self.collector,
        ).run()


@dataclass(frozen=True, slots=True)
class Failure:
    """The first failing schedule and its violation, and the shrunk schedule with its own
    violation (the same invariant) and the trace that leads to it."""

    schedule: Schedule
    violation: Violation
    shrunk: Schedule
    shrunk_violation: Violation
    trace: tuple[str, ...]


@dataclass(slots=True)
class Summary:
    mode: str
    seed: int
    schedules: int = 0
    violations: int = 0
    failing: list[int] = field(default_factory=list)  # schedule seeds (grid indexes)
    first: Failure | None = None
    elapsed_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schedules": self.schedules,
            "violations": self.violations,
            "seed": self.seed,
            "mode": self.mode,
            "elapsed_s": round(self.elapsed_s, 2),
        }
        if self.first is not None:
            f = self.first
            out["first_violation"] = {
                "seed": f.schedule.seed,
                "invariant": f.violation.invariant,
                "what": f.violation.what,
                "at_s": round(f.violation.at, 3),
                "schedule": f.schedule.to_json(),
                "shrunk_schedule": f.shrunk.to_json(),
                "shrunk_violation": f.shrunk_violation.describe(),
                "trace": list(f.trace),
            }
        return out


Progress = Callable[[int], None]


def _worker_started() -> None:
    """A worker's inherited objects (modules, the schemas' validators) live as long as it:
    frozen out of the garbage collector's scans, which then only walk what the runs made (each
    run's world is a cycle of bound methods, freed by the collector)."""
    gc.freeze()


def _run_chunk(args: tuple[Variant, list[Schedule]]) -> list[tuple[int, Violation | None]]:
    variant, schedules = args
    results = []
    for s in schedules:
        outcome = variant.run(s)
        results.append((s.seed, outcome.violations[0] if outcome.violations else None))
    return results


def _chunks(
    schedules: Iterable[Schedule], variant: Variant
) -> Iterator[tuple[Variant, list[Schedule]]]:
    chunk: list[Schedule] = []
    for s in schedules:
        chunk.append(s)
        if len(chunk) == CHUNK:
            yield variant, chunk
            chunk = []
    if chunk:
        yield variant, chunk


def run_schedules(
    schedules: Sequence[Schedule],
    *,
    mode: str,
    seed: int,
    workers: int = 2,
    variant: Variant | None = None,
    on_progress: Progress | None = None,
    shrink_first: bool = True,
) -> Summary:
    variant = variant or Variant()
    summary = Summary(mode, seed)
    started = time.perf_counter()
    by_seed = {s.seed: s for s in schedules}
    chunks = _chunks(schedules, variant)
    if workers > 1 and len(schedules) > CHUNK:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(workers, initializer=_worker_started) as pool:
            for results in pool.imap_unordered(_run_chunk, chunks):
                _count(summary, results, on_progress)
    else:
        for chunk in chunks:
            _count(summary, _run_chunk(chunk), on_progress)
    summary.failing.sort()
    if summary.failing:
        first = by_seed[summary.failing[0]]
        outcome = variant.run(first, trace=True)
        shrunk, shrunk_outcome = (
            shrink(first, lambda s: variant.run(s, trace=True))
            if shrink_first
            else (first, outcome)
        )
        summary.first = Failure(
            first,
            outcome.violations[0],
            shrunk,
            shrunk_outcome.violations[0],
            _until_violation(shrunk_outcome),
        )
    summary.elapsed_s = time.perf_counter() - started
    return summary


def _count(
    summary: Summary, results: list[tuple[int, Violation | None]], on_progress: Progress | None
) -> None:
    for seed, violation in results:
        summary.schedules += 1
        if violation is not None:
            summary.violations += 1
            summary.failing.append(seed)
    if on_progress is not None:
        on_progress(summary.schedules)


def _until_violation(outcome: Outcome) -> tuple[str, ...]:
    lines = list(outcome.trace)
    if outcome.violations:
        lines.append(
            f"{outcome.violations[0].at:9.2f}s  VIOLATION: {outcome.violations[0].describe()}"
        )
    return tuple(lines)


def random_batch(
    seed: int, count: int, hosts: int | None, timeout_s: float, **kwargs: Any
) -> Summary:
    schedules = [random_schedule(s, hosts, timeout_s) for s in range(seed, seed + count)]
    return run_schedules(schedules, mode="random", seed=seed, **kwargs)


def exhaustive_batch(
    hosts: int, timeout_s: float, kills: tuple[str, ...] = EXHAUSTIVE_KILLS, **kwargs: Any
) -> Summary:
    schedules = list(exhaustive(hosts, timeout_s, kills))
    return run_schedules(schedules, mode="exhaustive", seed=0, **kwargs)
