"""Branch and bound over the failure sets of one size k: are they all feasible?

Sets are built class by class (identical hosts form a class, so a set is a count per class,
never a permutation of identical hosts), heaviest classes first so the worst sets come first.
At each node the proof rows (bounds.py) are checked against the worst completion, the k - |F0|
heaviest remaining hosts per row: if every row holds, every completion is feasible and the
whole subtree is decided at once. Only the leaves no row can prove are packed: refutation rows,
then greedy packings, then CP-SAT. The first infeasible leaf refutes k.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from math import comb

import numpy as np

from services.planner.bounds import Rows, Vector
from services.planner.budget import Budget
from services.planner.decide import (
    Verdict,
    cpsat_packs,
    greedy_packs,
    items_of,
    survivors_of,
)
from services.planner.instance import Instance
from services.planner.profile import GuaranteeRows, Profile, profile
from services.planner.twostage import StageTwo, extend, initial, stage_two

NODE_UNITS = 2
"""Work units charged per search node (a few vector operations)."""
GREEDY_PLACEMENTS_PER_UNIT = 50
"""Host scans of a greedy packing that make one work unit."""
STAGE_ONE_UNITS_PER_VM = 1
"""Work units per VM placed by stage 1 of the two-stage proof (a bisection and an insert)."""
STAGE_TWO_UNITS = 40
"""Work units to derive the stage-2 rows (a few dozen vector operations)."""


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
    inst: Instance
    k: int
    proofs: Rows
    refutations: Rows
    budget: Budget
    tally: Tally
    on_covered: Callable[[int], None] | None
    prof: Profile
    members: list[tuple[int, ...]] = field(default_factory=list)
    hosts_left: list[int] = field(default_factory=list)
    start: list[int] = field(default_factory=list)
    remaining: list[int] = field(default_factory=list)
    tops: list[np.ndarray] = field(default_factory=list)
    weight: list[Vector] = field(default_factory=list)
    unknown: bool = False
    witness: tuple[int, ...] | None = None
    out_of_budget: bool = False

    def prepare(self) -> None:
        inst = self.inst
        w = self.proofs.weights
        order = sorted(
            inst.classes,
            key=lambda c: (-(inst.load[c.hosts[0]] + inst.free[c.hosts[0]]), c.hosts[0]),
        )
        self.members = [c.hosts for c in order]
        self.hosts_left = hosts_left = [h for c in order for h in c.hosts]
        start = 0
        for m in self.members:
            self.start.append(start)
            suffix = hosts_left[start:]
            self.remaining.append(len(suffix))
            sorted_w = -np.sort(-w[:, suffix], axis=1)
            zeros = np.zeros((w.shape[0], 1), dtype=np.int64)
            self.tops.append(np.hstack([zeros, np.cumsum(sorted_w, axis=1)]))
            self.weight.append(w[:, m[0]].copy())
            start += len(m)
        self.remaining.append(0)

    def visit(
        self, i: int, r: int, chosen: list[int], acc: Vector, mult: int, base: StageTwo | None
    ) -> None:
        """Node i (next class to decide) with `chosen` failed so far and r hosts still to pick.
        `base` is the two-stage state of the nearest ancestor (None once stage 1 failed)."""
        if not self.budget.spend(NODE_UNITS):
            self.out_of_budget = True
            raise _Stop
        if r == 0:
            self.leaf(chosen, acc, mult)
            return
        if self.remaining[i] < r:
            return
        if bool(np.all(acc + self.tops[i][:, r] <= self.proofs.limits)):
            self.covered(comb(self.remaining[i], r) * mult, by_bounds=True)
            return
        derived = base
        if base is not None and len(base.packing.chosen) < len(chosen):
            derived = self.stage_one(base, chosen[len(base.packing.chosen) :])
        if derived is not None and chosen and derived.proves(self.hosts_left[self.start[i] :], r):
            self.covered(comb(self.remaining[i], r) * mult, by_bounds=True)
            return
        size = len(self.members[i])
        for c in range(min(r, size), -1, -1):
            if self.remaining[i + 1] < r - c:
                continue
            self.visit(
                i + 1,
                r - c,
                chosen + list(self.members[i][:c]),
                acc + c * self.weight[i],
                mult * comb(size, c),
                derived,
            )

    def stage_one(self, base: StageTwo, new: list[int]) -> StageTwo | None:
        """Stage 1 of the two-stage proof (twostage.py) for F0 = base's F0 + `new`, grown
        from base's packing; the nodes below that keep this F0 (they skip hosts) reuse it."""
        inst = self.inst
        items = sum(len(inst.vms[h]) + len(base.packing.placed[h]) for h in new)
        if not self.budget.spend(items * STAGE_ONE_UNITS_PER_VM + STAGE_TWO_UNITS):
            self.out_of_budget = True
            raise _Stop
        packing = extend(inst, base.packing, new)
        return None if packing is None else stage_two(inst, self.prof, packing)

    def leaf(self, chosen: list[int], acc: Vector, mult: int) -> None:
        relevant = self.proofs.needs[:, chosen].sum(axis=1) > 0
        if bool(np.all((acc <= self.proofs.limits) | ~relevant)):
            self.covered(mult, by_bounds=True)
            return
        ref = self.refutations
        if bool(np.any(ref.weights[:, chosen].sum(axis=1) > ref.limits)):
            self.tally.bounds += 1
            self.refuted(chosen)
        inst = self.inst
        items = items_of(inst, chosen)
        survivors = survivors_of(inst, chosen)
        for best in (True, False):
            if not self.budget.spend(len(items) * len(survivors) / GREEDY_PLACEMENTS_PER_UNIT):
                self.out_of_budget = True
                raise _Stop
            if greedy_packs(inst, items, survivors, best):
                self.tally.greedy += mult
                self.covered(mult, by_bounds=False)
                return
        self.tally.cpsat_calls += 1
        verdict = cpsat_packs(inst, items, survivors, self.budget)
        if verdict is Verdict.FEASIBLE:
            self.tally.cpsat += mult
            self.covered(mult, by_bounds=False)
        elif verdict is Verdict.INFEASIBLE:
            self.tally.cpsat += 1
            self.refuted(chosen)
        else:
            self.unknown = True

    def covered(self, count: int, *, by_bounds: bool) -> None:
        if by_bounds:
            self.tally.bounds += count
        if self.on_covered is not None:
            self.on_covered(count)

    def refuted(self, chosen: Sequence[int]) -> None:
        self.witness = tuple(sorted(chosen))
        raise _Stop


def search_level(
    inst: Instance,
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
    if len(proofs) == 0:
        tally.bounds += comb(inst.n, k)
        if on_covered is not None:
            on_covered(comb(inst.n, k))
        return LevelResult(Outcome.ALL_FEASIBLE)
    level = _Level(inst, k, proofs, refutations, budget, tally, on_covered, profile(inst))
    level.prepare()
    with contextlib.suppress(_Stop):
        root = StageTwo(initial(inst), GuaranteeRows.empty(inst.n))
        level.visit(0, k, [], np.zeros(len(proofs), dtype=np.int64), 1, root)
    if level.witness is not None:
        return LevelResult(Outcome.REFUTED, level.witness)
    if level.unknown or level.out_of_budget:
        return LevelResult(Outcome.UNKNOWN)
    return LevelResult(Outcome.ALL_FEASIBLE)
