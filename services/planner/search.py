"""Branch and bound over the failure sets of one size k: are they all feasible?

Sets are built class by class (identical hosts form a class, so a set is a count per class,
never a permutation of identical hosts), heaviest classes first so the worst sets come first,
and only sets closed under dominance are built (dominance.py: the others are implied). At
each node F0 (the hosts failed so far) with r hosts left to pick:
- the proof rows (bounds.py) are checked against the worst completion, the r heaviest
  admissible hosts per row: if every row holds, every completion is feasible and the whole
  subtree is decided at once;
- else the two-stage proof (twostage.py) tries the same with F0's VMs already packed.
Only the leaves nothing above decided are looked at one by one: proof rows restricted to the
sizes the set has, refutation rows, greedy packings, the host-by-host fill, then CP-SAT. The
first infeasible leaf refutes k; a leaf CP-SAT cannot decide in its budget leaves k unknown
unless another leaf refutes it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from math import comb

import numpy as np

from services.planner.bounds import Matrix, Rows, Vector
from services.planner.budget import Budget
from services.planner.decide import By, Verdict, decide
from services.planner.dominance import Plan
from services.planner.profile import GuaranteeRows
from services.planner.twostage import StageTwo, extend, initial, stage_two

NODE_UNITS = 2
"""Work units charged per search node (a few vector operations)."""
STAGE_ONE_UNITS_PER_VM = 1
"""Work units per VM placed by stage 1 of the two-stage proof (a bisection and an insert)."""
STAGE_TWO_UNITS = 40
"""Work units to derive the stage-2 rows (a few dozen vector operations), plus their cells."""
MATRIX_CELLS_PER_UNIT = 200
"""Cells of a rows x hosts matrix sorted or summed per work unit."""


class Outcome(Enum):
    ALL_FEASIBLE = "all feasible"
    REFUTED = "refuted"
    UNKNOWN = "unknown"


@dataclass(slots=True)
class Tally:
    """How many failure sets each kind of check decided, and how much CP-SAT ran."""

    bounds: int = 0
    greedy: int = 0
    cpsat: int = 0
    dominance: int = 0
    cpsat_calls: int = 0


@dataclass(frozen=True, slots=True)
class LevelResult:
    outcome: Outcome
    witness: tuple[int, ...] | None = None
    """An infeasible failure set of size k, when refuted."""


class _Stop(Exception):
    """Unwinds the search: a refutation was found or the budget ran out."""


@dataclass(slots=True)
class _Level:
    plan: Plan
    k: int
    proofs: Rows
    refutations: Rows
    budget: Budget
    tally: Tally
    on_covered: Callable[[int], None] | None
    start: list[int] = field(default_factory=list)
    remaining: list[int] = field(default_factory=list)
    tops: list[Matrix] = field(default_factory=list)
    """Per class i, rows x (r+1): the sum of the r heaviest weights among classes i.."""
    weight: list[Vector] = field(default_factory=list)
    taken: list[int] = field(default_factory=list)
    """Per class, how many of its hosts the current path fails (-1: not decided yet)."""
    decided: int = 0
    """Failure sets of size k decided one way or another so far (dominance aside)."""
    unknown: bool = False
    witness: tuple[int, ...] | None = None
    out_of_budget: bool = False

    def __post_init__(self) -> None:
        w = self.proofs.weights
        hosts = [h for m in self.plan.members for h in m]
        start = 0
        for m in self.plan.members:
            self.start.append(start)
            self.remaining.append(len(hosts) - start)
            sorted_w = -np.sort(-w[:, hosts[start:]], axis=1)
            zeros = np.zeros((w.shape[0], 1), dtype=np.int64)
            self.tops.append(np.hstack([zeros, np.cumsum(sorted_w, axis=1)]))
            self.weight.append(w[:, m[0]].copy())
            start += len(m)
        self.remaining.append(0)
        self.taken = [-1] * len(self.plan.members)

    @property
    def members(self) -> tuple[tuple[int, ...], ...]:
        return self.plan.members

    def charge(self, units: float) -> None:
        if not self.budget.spend(units):
            self.out_of_budget = True
            raise _Stop

    def visit(
        self, i: int, r: int, chosen: list[int], acc: Vector, mult: int, base: StageTwo | None
    ) -> None:
        """Node i (next class to decide) with `chosen` failed so far and r hosts still to pick.
        `base` is the two-stage state of the nearest ancestor (None once stage 1 failed)."""
        self.charge(NODE_UNITS)
        if r == 0:
            self.leaf(chosen, acc, mult)
            return
        if self.remaining[i] < r:
            return
        candidates = self.admissible(i)
        if len(candidates) < r:
            return  # no completion is closed under dominance: each is implied by a worse one
        completions = comb(len(candidates), r) * mult
        if len(candidates) == self.remaining[i]:
            worst = self.tops[i][:, r]
        else:
            self.charge(len(self.proofs) * len(candidates) / MATRIX_CELLS_PER_UNIT)
            w = self.proofs.weights[:, candidates]
            worst = -np.partition(-w, r - 1, axis=1)[:, :r].sum(axis=1)
        if bool(np.all(acc + worst <= self.proofs.limits)):
            self.covered(completions, by_bounds=True)
            return
        derived = base
        if base is not None and len(base.packing.chosen) < len(chosen):
            derived = self.stage_one(base, chosen[len(base.packing.chosen) :])
        if derived is not None and chosen:
            self.charge(derived.rows.limits.size * len(candidates) / MATRIX_CELLS_PER_UNIT)
        if derived is not None and chosen and derived.proves(candidates, r):
            self.covered(completions, by_bounds=True)
            return
        size = len(self.members[i])
        for c in range(min(r, size), -1, -1):
            if self.remaining[i + 1] < r - c or not self.closed(i, c):
                continue
            self.taken[i] = c
            self.visit(
                i + 1,
                r - c,
                chosen + list(self.members[i][:c]),
                acc + c * self.weight[i],
                mult * comb(size, c),
                derived,
            )
        self.taken[i] = -1

    def admissible(self, i: int) -> list[int]:
        """Hosts of classes i.. that a closed completion may still fail: a class with a
        dominating class already decided and not entirely failed may not."""
        out: list[int] = []
        for j in range(i, len(self.members)):
            if all(self.undecided_or_full(a) for a in self.plan.above[j]):
                out.extend(self.members[j])
        return out

    def undecided_or_full(self, a: int) -> bool:
        return self.taken[a] < 0 or self.taken[a] == len(self.members[a])

    def closed(self, i: int, c: int) -> bool:
        """Whether failing c hosts of class i keeps the set closed under dominance so far:
        a class may only fail if every class dominating it fails entirely."""
        if c > 0 and not all(self.undecided_or_full(a) for a in self.plan.above[i]):
            return False
        return c == len(self.members[i]) or all(self.taken[b] <= 0 for b in self.plan.below[i])

    def stage_one(self, base: StageTwo, new: list[int]) -> StageTwo | None:
        """Stage 1 of the two-stage proof (twostage.py) for F0 = base's F0 + `new`, grown
        from base's packing; the nodes below that keep this F0 (they skip hosts) reuse it."""
        inst = self.plan.inst
        items = sum(len(inst.vms[h]) + len(base.packing.placed[h]) for h in new)
        self.charge(items * STAGE_ONE_UNITS_PER_VM + STAGE_TWO_UNITS)
        packing = extend(inst, base.packing, new)
        if packing is None:
            return None
        derived = stage_two(inst, self.plan.prof, packing)
        self.charge(derived.rows.limits.size * inst.n / MATRIX_CELLS_PER_UNIT)
        return derived

    def leaf(self, chosen: list[int], acc: Vector, mult: int) -> None:
        """A whole failure set (`mult` host sets, by symmetry): decide it (decide.py)."""
        decision = decide(
            self.plan.inst, chosen, acc, self.proofs, self.refutations, self.budget, self.charge
        )
        if decision.by is By.CPSAT:
            self.tally.cpsat_calls += 1
        if decision.verdict is Verdict.FEASIBLE:
            if decision.by is By.GREEDY:
                self.tally.greedy += mult
            elif decision.by is By.CPSAT:
                self.tally.cpsat += mult
            self.covered(mult, by_bounds=decision.by is By.BOUNDS)
        elif decision.verdict is Verdict.INFEASIBLE:
            if decision.by is By.BOUNDS:
                self.tally.bounds += 1
            else:
                self.tally.cpsat += 1
            self.refuted(chosen)
        else:
            self.unknown = True

    def covered(self, count: int, *, by_bounds: bool) -> None:
        self.decided += count
        if by_bounds:
            self.tally.bounds += count
        if self.on_covered is not None:
            self.on_covered(count)

    def refuted(self, chosen: Sequence[int]) -> None:
        self.witness = tuple(sorted(chosen))
        raise _Stop


def search_level(
    plan: Plan,
    k: int,
    proofs: Rows,
    refutations: Rows,
    budget: Budget,
    tally: Tally,
    on_covered: Callable[[int], None] | None = None,
) -> LevelResult:
    """Decide whether every failure set of size k is feasible. `proofs` need only hold the rows
    that some k-set fails (the others hold for all of them). `on_covered(count)` is told each
    time `count` more k-sets have been decided feasible."""
    inst = plan.inst
    if len(proofs) == 0:
        tally.bounds += comb(inst.n, k)
        if on_covered is not None:
            on_covered(comb(inst.n, k))
        return LevelResult(Outcome.ALL_FEASIBLE)
    level = _Level(plan, k, proofs, refutations, budget, tally, on_covered)
    with contextlib.suppress(_Stop):
        root = StageTwo(initial(inst), GuaranteeRows.empty(inst.n))
        level.visit(0, k, [], np.zeros(len(proofs), dtype=np.int64), 1, root)
    if level.witness is not None:
        return LevelResult(Outcome.REFUTED, level.witness)
    if level.unknown or level.out_of_budget:
        return LevelResult(Outcome.UNKNOWN)
    # The sets never visited are not closed under dominance: each is implied by a closed one.
    implied = comb(inst.n, k) - level.decided
    tally.dominance += implied
    if on_covered is not None:
        on_covered(implied)
    return LevelResult(Outcome.ALL_FEASIBLE)
