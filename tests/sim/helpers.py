"""Running one simulated schedule and reading what happened."""

from __future__ import annotations

import os
from dataclasses import dataclass

from services.arbiter.view import DeclaredDead, Fenced
from services.sim.engine import Outcome, Sim
from services.sim.faults import Schedule


@dataclass
class Ran:
    sim: Sim
    outcome: Outcome

    @property
    def start(self) -> float:
        return self.sim.s.faults[0].start if self.sim.s.faults else 0.0

    def first(self, kind: str, subject: str) -> float | None:
        """Time after the first fault of the first milestone `kind` about `subject`."""
        for t, k, s in self.outcome.milestones:
            if k == kind and s == subject and t >= self.start:
                return t - self.start
        return None

    def fenced_hosts(self, before: float) -> set[str]:
        return {
            s for t, k, s in self.outcome.milestones if k in ("fence", "watchdog") and t < before
        }

    def declared(self, host: str) -> list[DeclaredDead]:
        return [d for d in self.sim.log if isinstance(d, DeclaredDead) and d.host == host]

    def marks(self, host: str) -> list[Fenced]:
        return [d for d in self.sim.log if isinstance(d, Fenced) and d.host == host]

    def running_on(self, vm: str) -> set[str]:
        return {h for h, up in self.sim.checker.running.get(vm, {}).items() if up}


def simulate(schedule: Schedule) -> Ran:
    sim = Sim(schedule)
    return Ran(sim, sim.run())


def sim_workers() -> int:
    """Worker processes for a batch test: HAPLAN_SIM_WORKERS if set; else one under
    pytest-xdist (which already runs a test per core: the batches are split in parts for it to
    balance), two otherwise (the machine the README targets has two cores)."""
    configured = os.environ.get("HAPLAN_SIM_WORKERS")
    if configured:
        return max(1, int(configured))
    return 1 if os.environ.get("PYTEST_XDIST_WORKER") else 2
