"""Deciding one failure set: is there a home on the survivors for every protected VM of F?

Cheapest first: the proof rows restricted to the sizes F has and the refutation rows
(bounds.py), then packings (decreasing best fit and worst fit, then the host-by-host fill:
a packing that places every VM proves feasibility), then CP-SAT, which alone can prove that no
packing exists when the bounds cannot.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from services.planner.bounds import Rows, Vector
from services.planner.budget import Budget
from services.planner.fit import fill, fit
from services.planner.instance import Instance, Vm
from services.planner.solver import exact_solver

GREEDY_PLACEMENTS_PER_UNIT = 50
"""Host scans of a greedy packing that make one work unit (budget.py)."""
FILL_UNITS_PER_VM = 2
"""Work units per VM for the host-by-host fill (fit.fill) tried before CP-SAT."""
CPSAT_CALL_CAP = 5.0
"""Most deterministic seconds one failure set may take, so one hard set cannot eat the whole
budget when others could still be decided."""


class Verdict(Enum):
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"


class By(Enum):
    BOUNDS = "bounds"
    GREEDY = "greedy"
    CPSAT = "cpsat"


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    by: By


def decide(
    inst: Instance,
    failed: Sequence[int],
    load: Vector,
    proofs: Rows,
    refutations: Rows,
    budget: Budget,
    charge: Callable[[float], None],
) -> Decision:
    """Decide the failure set `failed`; `load` is its weight on each proof row (the sum of its
    hosts' weights). `charge` is told the work done before each step (it may stop the caller)."""
    needed = proofs.needs[:, failed].sum(axis=1) > 0
    if bool(np.all((load <= proofs.limits) | ~needed)):
        return Decision(Verdict.FEASIBLE, By.BOUNDS)
    if bool(np.any(refutations.weights[:, failed].sum(axis=1) > refutations.limits)):
        return Decision(Verdict.INFEASIBLE, By.BOUNDS)
    items = items_of(inst, failed)
    survivors = survivors_of(inst, failed)
    for best in (True, False):
        charge(len(items) * len(survivors) / GREEDY_PLACEMENTS_PER_UNIT)
        if greedy_packs(inst, items, survivors, best):
            return Decision(Verdict.FEASIBLE, By.GREEDY)
    charge(len(items) * FILL_UNITS_PER_VM)
    if fill_packs(inst, items, survivors):
        return Decision(Verdict.FEASIBLE, By.GREEDY)
    return Decision(cpsat_packs(inst, items, survivors, budget), By.CPSAT)


def items_of(inst: Instance, failed: Sequence[int]) -> list[Vm]:
    """The protected VMs of the failed hosts in greedy order: VMs with an anti-affinity group
    first (they have fewer places to go), then the others, each largest first."""
    items = [vm for h in failed for vm in inst.vms[h]]
    items.sort(key=lambda vm: (vm[1] is None, -vm[0], vm[1] or ""))
    return items


def survivors_of(inst: Instance, failed: Sequence[int]) -> list[int]:
    gone = set(failed)
    return [h for h in range(inst.n) if h not in gone]


def greedy_packs(inst: Instance, items: Sequence[Vm], survivors: Sequence[int], best: bool) -> bool:
    """Any-fit in the order given: each item to the survivor with the least room that fits it
    (best fit) or the most (worst fit). True when every item is placed."""
    room = [inst.free[h] for h in survivors]
    groups = [set(inst.groups[h]) for h in survivors]
    return fit(items, room, groups, best=best) is not None


def fill_packs(inst: Instance, items: Sequence[Vm], survivors: Sequence[int]) -> bool:
    """Grouped VMs by best fit decreasing, then the others host by host with the combination
    that fills each best (fit.fill). True only with a packing."""
    room = [inst.free[h] for h in survivors]
    groups = [set(inst.groups[h]) for h in survivors]
    grouped = [vm for vm in items if vm[1] is not None]
    spots = fit(grouped, room, groups, best=True)
    if spots is None:
        return False
    for (size, _), j in zip(grouped, spots, strict=True):
        room[j] -= size
    return fill([size for size, group in items if group is None], room)


def cpsat_packs(
    inst: Instance, items: Sequence[Vm], survivors: Sequence[int], budget: Budget
) -> Verdict:
    """Exact feasibility by CP-SAT. Identical VMs (same size and group) are counted, not
    listed: y[t, h] is how many VMs of type t go to survivor h. Identical survivors (same free
    memory and groups) are ordered by load, which removes their permutations without losing
    any packing (any packing can be permuted so that their loads decrease)."""
    limit = min(budget.cpsat_seconds, CPSAT_CALL_CAP)
    if limit <= 0:
        return Verdict.UNKNOWN
    from ortools.sat.python import cp_model  # deferred: see services/planner/solver.py

    types = sorted(Counter(items).items(), key=lambda t: (-t[0][0], t[0][1] or ""))
    model = cp_model.CpModel()
    y: dict[tuple[int, int], cp_model.IntVar] = {}
    most: dict[tuple[int, int], int] = {}
    for t, ((size, group), count) in enumerate(types):
        for j, h in enumerate(survivors):
            cap = min(count, inst.free[h] // size)
            if group is not None:
                cap = 0 if group in inst.groups[h] else min(cap, 1)
            if cap > 0:
                y[t, j] = model.new_int_var(0, cap, f"y{t}_{j}")
                most[t, j] = cap
        if sum(c for (tt, _), c in most.items() if tt == t) < count:
            # Not enough places for this type even one host at a time: no packing exists.
            return Verdict.INFEASIBLE
        model.add(sum(v for (tt, _), v in y.items() if tt == t) == count)
    loads = []
    for j, h in enumerate(survivors):
        terms = [(types[t][0][0], v, most[t, jj]) for (t, jj), v in y.items() if jj == j]
        load = sum(size * v for size, v, _ in terms)
        if sum(size * cap for size, _, cap in terms) > inst.free[h]:
            model.add(load <= inst.free[h])
        by_group: dict[str, list[cp_model.IntVar]] = {}
        for (t, jj), v in y.items():
            group = types[t][0][1]
            if jj == j and group is not None:
                by_group.setdefault(group, []).append(v)
        for members in by_group.values():
            if len(members) > 1:
                model.add(sum(members) <= 1)
        loads.append(load)
    previous: dict[tuple[int, frozenset[str]], int] = {}
    for j, h in enumerate(survivors):
        key = (inst.free[h], inst.groups[h])
        if key in previous:
            model.add(loads[previous[key]] >= loads[j])
        previous[key] = j
    solver = exact_solver(limit)
    status = solver.solve(model)
    budget.cpsat_seconds -= min(float(solver.deterministic_time), limit)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Verdict.FEASIBLE
    if status == cp_model.INFEASIBLE:
        return Verdict.INFEASIBLE
    return Verdict.UNKNOWN
