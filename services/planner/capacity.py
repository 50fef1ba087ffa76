"""Exact max host failures to tolerate (spec/planner.md).

1. Bounds for all failure sets at once (bounds.py): the proof rows give the largest k for
   which every set of size <= k is feasible; the refutation rows give the smallest size of a
   set known infeasible, and that set.
2. Every size in between is decided by branch and bound (search.py), smallest first: a size
   whose sets are all feasible raises the proven value; the first infeasible set found is the
   certificate and the answer is exact. The search counts identical hosts instead of listing
   them, skips sets a worse set implies (dominance.py), proves whole subtrees with the bounds
   and with a two-stage packing-then-bounds argument (twostage.py), and packs one set at a
   time (decide.py: greedy packings, then CP-SAT) only where nothing else decides.
3. The work is bounded by `work_limit` in deterministic seconds (budget.py), never by a clock:
   when it runs out the answer is the proven value, the upper bound and exact=False.
Feasibility is monotone (a subset of a feasible set is feasible: fewer VMs to place, more
hosts to place them on), which is why deciding sizes in increasing order is enough.
"""

from __future__ import annotations

from collections.abc import Callable
from math import comb

from schemas import Pool
from services.planner.bounds import (
    dangerous,
    largest_proven,
    proof_rows,
    refutation_rows,
    smallest_refuted,
)
from services.planner.budget import Budget
from services.planner.dominance import plan_search
from services.planner.instance import instance
from services.planner.results import FailureCapacity, SearchStats
from services.planner.search import Outcome, Tally, search_level

Progress = Callable[[int, int], None]
PROGRESS_STEPS = 1000


# About 8 s of wall clock on a 2-core machine (budget.py calibrates one deterministic second to
# about one second here): an operator or the arbiter gets an answer within 10 s on pools of 64
# hosts x 2000 VMs, exact on nearly all of them and otherwise the proven value with its upper
# bound. A longer search is one `--work-limit` away.
DEFAULT_WORK_LIMIT = 8.0


def max_failures(
    pool: Pool, *, work_limit: float = DEFAULT_WORK_LIMIT, on_progress: Progress | None = None
) -> FailureCapacity:
    """Largest k such that every failure set of size <= k is feasible, with its certificate.

    `work_limit` bounds the work in deterministic seconds (reproducible, no clock read); past
    it the answer is the proven value with its upper bound and `exact=False`.
    `on_progress(done, total)` is called as the search advances (done/total is the share of
    the undecided failure sets decided so far; it never goes backwards).
    """
    inst = instance(pool)
    n = inst.n
    proofs = proof_rows(inst)
    refutations = refutation_rows(inst)
    lower = largest_proven(proofs, n)
    refuted = smallest_refuted(refutations, n)
    upper, witness = (refuted[0] - 1, refuted[1]) if refuted else (n - 1, None)
    if lower > upper:
        raise AssertionError(f"planner bounds disagree: {lower} proven, {upper} refuted")
    tally = Tally(bounds=sum(comb(n, k) for k in range(1, lower + 1)))
    budget = Budget.of(work_limit)
    progress = _Progress(on_progress, upper - lower)
    plan = plan_search(inst) if lower < upper else None
    k = lower + 1
    while plan is not None and k <= upper:
        progress.start_level(comb(n, k))
        level = search_level(
            plan, k, dangerous(proofs, k), refutations, budget, tally, progress.covered
        )
        if level.outcome is Outcome.REFUTED:
            upper, witness = k - 1, level.witness
        elif level.outcome is Outcome.ALL_FEASIBLE:
            lower = k
            k += 1
            continue
        break
    progress.finish()
    return FailureCapacity(
        pool=pool.name,
        max_host_failures_to_tolerate=lower,
        upper_bound=upper,
        exact=lower == upper,
        host_failures_to_tolerate=pool.ha.host_failures_to_tolerate,
        worst_failure_set=None
        if witness is None
        else tuple(inst.names[h] for h in sorted(witness)),
        stats=SearchStats(
            failure_sets_decided_by_bounds=tally.bounds + (1 if refuted else 0),
            failure_sets_decided_by_greedy=tally.greedy,
            failure_sets_decided_by_cpsat=tally.cpsat,
            cpsat_calls=tally.cpsat_calls,
            symmetry_classes=len(inst.classes),
            failure_sets_decided_by_dominance=tally.dominance,
        ),
    )


class _Progress:
    """Turns sets covered per level into a monotone done/total for the caller's progress bar."""

    def __init__(self, report: Progress | None, levels: int) -> None:
        self.report = report
        self.levels = max(levels, 1)
        self.level = -1
        self.level_total = 1
        self.level_done = 0
        self.last = -1
        self._emit()

    def start_level(self, total: int) -> None:
        self.level += 1
        self.level_total = max(total, 1)
        self.level_done = 0
        self._emit()

    def covered(self, count: int) -> None:
        self.level_done += count
        self._emit()

    def finish(self) -> None:
        if self.report is not None and self.last != PROGRESS_STEPS:
            self.report(PROGRESS_STEPS, PROGRESS_STEPS)

    def _emit(self) -> None:
        if self.report is None:
            return
        share = (max(self.level, 0) + min(self.level_done / self.level_total, 1.0)) / self.levels
        done = min(int(share * PROGRESS_STEPS), PROGRESS_STEPS)
        if done > self.last:
            self.last = done
            self.report(done, PROGRESS_STEPS)
