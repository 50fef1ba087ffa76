"""Shrinking: from a failing schedule to a shorter one that still fails.

Greedy delta debugging on the fault list: drop one fault at a time, keep the drop whenever the
run still breaks the same invariant, until no single fault can go. Runs are deterministic given
the schedule, so the result reproduces.
"""

from __future__ import annotations

from collections.abc import Callable

from services.sim.faults import Schedule
from services.sim.world import Outcome

Runner = Callable[[Schedule], Outcome]


def shrink(schedule: Schedule, runner: Runner, max_runs: int = 200) -> tuple[Schedule, Outcome]:
    """The smallest failing schedule found and its run; `schedule` must fail."""
    best = runner(schedule)
    if best.ok:
        raise ValueError("shrink needs a failing schedule")
    invariant = best.violations[0].invariant
    current, runs = schedule, 1
    progress = True
    while progress and runs < max_runs:
        progress = False
        for i in range(len(current.faults)):
            candidate = current.without(i)
            outcome = runner(candidate)
            runs += 1
            if not outcome.ok and outcome.violations[0].invariant == invariant:
                current, best, progress = candidate, outcome, True
                break
            if runs >= max_runs:
                break
    return current, best
