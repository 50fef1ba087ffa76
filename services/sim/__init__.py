"""Deterministic fault simulator driving the pure collector and arbiter cores.

`run(schedule)` simulates one fault schedule and checks the invariants after every step;
`random_batch` / `exhaustive_batch` run many on worker processes; `shrink` cuts a failing
schedule down to the faults that matter.
"""

from services.sim.batch import Failure, Summary, Variant, exhaustive_batch, random_batch
from services.sim.engine import Sim, run
from services.sim.faults import Arbiters, Fault, Kind, Schedule
from services.sim.generate import exhaustive, lab_pool, random_schedule, single_fault
from services.sim.invariants import Violation
from services.sim.shrink import shrink
from services.sim.world import Outcome

__all__ = [
    "Arbiters",
    "Failure",
    "Fault",
    "Kind",
    "Outcome",
    "Schedule",
    "Sim",
    "Summary",
    "Variant",
    "Violation",
    "exhaustive",
    "exhaustive_batch",
    "lab_pool",
    "random_batch",
    "random_schedule",
    "run",
    "shrink",
    "single_fault",
]
