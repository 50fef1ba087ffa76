"""Placing a set of VMs on a set of hosts: greedy packings first, CP-SAT when they fall short.

Pure: no IO, no clock. Shared by restart plans and evacuation plans. The CP-SAT model is solved
with a fixed seed, one worker and a deterministic time limit, so the same input always gives
the same placement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from services.planner.solver import exact_solver

Fit = Literal["worst", "best"]
Assignment = tuple[int | None, ...]
"""For each item, the index of the bin it goes to, or None when it is left out."""


@dataclass(frozen=True, slots=True)
class Item:
    """A VM to place. `tier` 0 is placed before tier 1 (restart before best-effort)."""

    name: str
    size: int
    group: str | None = None
    tier: int = 0
    order: int = 0


@dataclass(frozen=True, slots=True)
class Bin:
    """A host that can take VMs: its free memory and the anti-affinity groups already on it."""

    name: str
    free: int
    groups: frozenset[str] = frozenset()


def fits(item: Item, room: int, groups: set[str] | frozenset[str]) -> bool:
    return item.size <= room and (item.group is None or item.group not in groups)


def greedy(items: Sequence[Item], bins: Sequence[Bin], fit: Fit) -> Assignment:
    """Place items in the order given, each on the fitting bin with the most room left (worst
    fit: spreads load) or the least (best fit: packs tight); ties go to the first bin. Items
    that fit nowhere are left out and the rest still placed."""
    room = [b.free for b in bins]
    groups = [set(b.groups) for b in bins]
    out: list[int | None] = []
    for item in items:
        best: int | None = None
        for j in range(len(bins)):
            if not fits(item, room[j], groups[j]):
                continue
            if best is None or (room[j] > room[best] if fit == "worst" else room[j] < room[best]):
                best = j
        out.append(best)
        if best is not None:
            room[best] -= item.size
            if item.group is not None:
                groups[best].add(item.group)
    return tuple(out)


def decreasing(items: Sequence[Item]) -> list[int]:
    """Indices of items in greedy order: by tier, then largest first, then restart order."""
    return sorted(
        range(len(items)),
        key=lambda i: (items[i].tier, -items[i].size, items[i].order, items[i].name),
    )


def greedy_decreasing(items: Sequence[Item], bins: Sequence[Bin], fit: Fit) -> Assignment:
    """`greedy` over the items taken in `decreasing` order, reported in the items' own order."""
    order = decreasing(items)
    placed = greedy([items[i] for i in order], bins, fit)
    out: list[int | None] = [None] * len(items)
    for rank, i in enumerate(order):
        out[i] = placed[rank]
    return tuple(out)


def order_ranks(items: Sequence[Item]) -> list[int]:
    """Dense rank of each item's `order` among the items (0 for the lowest order value)."""
    distinct = sorted({it.order for it in items})
    rank = {o: r for r, o in enumerate(distinct)}
    return [rank[it.order] for it in items]


def score(items: Sequence[Item], assignment: Assignment) -> tuple[int, int, int]:
    """What placement plans are ranked by, best first when larger: VMs of tier 0 placed, VMs of
    tier 1 placed, and minus the sum of the order ranks of the VMs placed."""
    ranks = order_ranks(items)
    placed = [i for i, b in enumerate(assignment) if b is not None]
    return (
        sum(1 for i in placed if items[i].tier == 0),
        sum(1 for i in placed if items[i].tier != 0),
        -sum(ranks[i] for i in placed),
    )


@dataclass(frozen=True, slots=True)
class Solved:
    assignment: Assignment
    optimal: bool


def best_placement(
    items: Sequence[Item],
    bins: Sequence[Bin],
    *,
    work_limit: float,
    hint: Assignment | None = None,
) -> Solved:
    """The placement with the best `score` (lexicographic: tier 0 count, tier 1 count, then the
    smallest sum of order ranks), by CP-SAT. `optimal` is False when the deterministic work
    limit ran out before optimality was proven; the best placement found is returned then (it
    is always valid, and never worse than `hint`).

    Interchangeable VMs (same size, tier and order, no anti-affinity group) form one type and
    the model counts how many of a type go to each host, so a failure of many hosts with
    hundreds of VMs stays a small model; VMs of a type are handed out by name.
    """
    from ortools.sat.python import cp_model  # deferred: see services/planner/solver.py

    ranks = order_ranks(items)
    types: dict[tuple[object, ...], list[int]] = {}
    for i, it in enumerate(items):
        key = (it.size, it.tier, ranks[i]) if it.group is None else (i,)
        types.setdefault(key, []).append(i)
    kinds = [sorted(members, key=lambda i: items[i].name) for members in types.values()]
    rank_total = sum(ranks) + 1
    n_tier1 = sum(1 for it in items if it.tier != 0)
    weight = {0: (n_tier1 + 1) * rank_total, 1: rank_total}
    model = cp_model.CpModel()
    y: dict[tuple[int, int], cp_model.IntVar] = {}
    most: dict[tuple[int, int], int] = {}
    for t, members in enumerate(kinds):
        first = items[members[0]]
        for j, b in enumerate(bins):
            if fits(first, b.free, b.groups):
                cap = min(len(members), b.free // first.size)
                y[t, j] = model.new_int_var(0, cap, f"y{t}_{j}")
                most[t, j] = cap
        placed = [v for (tt, _), v in y.items() if tt == t]
        if sum(most[tt, j] for (tt, j) in y if tt == t) > len(members):
            model.add(sum(placed) <= len(members))
    for j, b in enumerate(bins):
        on_j = [(t, v) for (t, jj), v in y.items() if jj == j]
        size = [items[kinds[t][0]].size for t, _ in on_j]
        if sum(sz * most[t, j] for sz, (t, _) in zip(size, on_j, strict=True)) > b.free:
            model.add(sum(sz * v for sz, (_, v) in zip(size, on_j, strict=True)) <= b.free)
        by_group: dict[str, list[cp_model.IntVar]] = {}
        for t, v in on_j:
            group = items[kinds[t][0]].group
            if group is not None:
                by_group.setdefault(group, []).append(v)
        for rivals in by_group.values():
            if len(rivals) > 1:
                model.add(sum(rivals) <= 1)
    objective = []
    for (t, _), v in y.items():
        first_i = kinds[t][0]
        objective.append((weight[min(items[first_i].tier, 1)] - ranks[first_i]) * v)
    model.maximize(sum(objective))
    if hint is not None:
        for (t, j), v in y.items():
            model.add_hint(v, sum(1 for i in kinds[t] if hint[i] == j))
    solver = exact_solver(work_limit)
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # Nothing found within the limit: the hint (or leaving everything out) is still valid.
        return Solved(hint if hint is not None else (None,) * len(items), False)
    out: list[int | None] = [None] * len(items)
    for t, members in enumerate(kinds):
        queue = iter(members)
        for j in range(len(bins)):
            if (t, j) in y:
                for _ in range(solver.value(y[t, j])):
                    out[next(queue)] = j
    found = tuple(out)
    if hint is not None and score(items, hint) > score(items, found):
        found = hint
    return Solved(found, status == cp_model.OPTIMAL)
