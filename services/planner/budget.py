"""The planner's work limit, counted in work done rather than read from a clock.

`work_limit` is given in deterministic seconds. CP-SAT spends it as its own deterministic
time; the planner's own enumeration converts it into work units (one unit is about one failure
set node or one VM placed by a greedy packing), so the same input always stops at the same
point whatever the machine's speed or load.
"""

from __future__ import annotations

from dataclasses import dataclass

UNITS_PER_SECOND = 400_000
"""Enumeration work units per deterministic second (about a second of CPython on one core)."""


@dataclass(slots=True)
class Budget:
    units: float
    cpsat_seconds: float

    @classmethod
    def of(cls, work_limit: float) -> Budget:
        limit = max(work_limit, 0.0)
        return cls(units=limit * UNITS_PER_SECOND, cpsat_seconds=limit)

    def spend(self, units: float) -> bool:
        """Charge `units`; False once the budget is exhausted (the caller then stops)."""
        self.units -= units
        return self.units >= 0

    @property
    def exhausted(self) -> bool:
        return self.units < 0
