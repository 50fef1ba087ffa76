"""The planner, re-run on replayed pools: failure capacity and single failure sets, cached.

Verify asks the same questions of the same pool many times (a pool changes far less often
than plans are recorded, and every VM move back and forth gives an earlier pool again), so
answers are kept per distinct pool. Everything here is the planner's own code: the audit
re-runs it, it never re-implements it.
"""

from __future__ import annotations

from schemas.pool import Pool
from services.planner import FailureCapacity, max_failures
from services.planner.budget import Budget
from services.planner.decide import (
    Verdict,
    cpsat_packs,
    greedy_packs,
    items_of,
    survivors_of,
)
from services.planner.instance import instance

DEFAULT_WORK_LIMIT = 60.0
"""Deterministic seconds per question: the planner's own default for max_failures."""


class PlannerCache:
    """`max_failures` and failure-set feasibility per distinct pool."""

    def __init__(self, work_limit: float = DEFAULT_WORK_LIMIT) -> None:
        self.work_limit = work_limit
        self._capacity: dict[Pool, FailureCapacity] = {}
        self._sets: dict[tuple[Pool, frozenset[str]], Verdict] = {}
        self.planner_runs = 0
        self.cache_hits = 0

    def capacity(self, pool: Pool) -> FailureCapacity:
        found = self._capacity.get(pool)
        if found is not None:
            self.cache_hits += 1
            return found
        self.planner_runs += 1
        result = max_failures(pool, work_limit=self.work_limit)
        self._capacity[pool] = result
        return result

    def failure_set(self, pool: Pool, failed: frozenset[str]) -> Verdict:
        """Whether every protected VM of `failed` finds a home on the survivors (names must be
        hosts of the pool): greedy packings prove it, CP-SAT alone refutes it."""
        key = (pool, failed)
        found = self._sets.get(key)
        if found is not None:
            self.cache_hits += 1
            return found
        self.planner_runs += 1
        inst = instance(pool)
        chosen = [i for i, name in enumerate(inst.names) if name in failed]
        items = items_of(inst, chosen)
        survivors = survivors_of(inst, chosen)
        if greedy_packs(inst, items, survivors, best=False) or greedy_packs(
            inst, items, survivors, best=True
        ):
            verdict = Verdict.FEASIBLE
        else:
            verdict = cpsat_packs(inst, items, survivors, Budget.of(self.work_limit))
        self._sets[key] = verdict
        return verdict
