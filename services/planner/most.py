"""Placing as many VMs as possible when not all of them fit, with a proof when it is the best.

The restart plan ranks placements by the number of tier-0 (restart) VMs placed, then tier-1
(best-effort), then the smallest sum of order ranks (placement.score). To place the most VMs
of a tier, the smallest ones are the ones to take: this greedy packs the largest prefix of a
tier's VMs by size that best fit decreasing manages to place, tier 0 first, then tier 1 in the
room left.

It is proven best (and CP-SAT is not needed) when it meets these upper bounds:
- tier 0: no plan places more than the c smallest placeable tier-0 VMs whose total fits in the
  hosts' total free memory, nor more than sum over hosts of how many of the smallest tier-0
  VMs fit in that host alone;
- tier 1: a plan with the most tier-0 VMs uses at least the total of the c0 smallest of them,
  so it places at most the k smallest tier-1 VMs that fit in what remains of the total;
- order ranks: the placed VMs of each tier have the smallest rank sum any set of that many VMs
  of the tier could have.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate

from services.planner.fit import fit
from services.planner.placement import Assignment, Bin, Item, fits, order_ranks


def most_placed(items: Sequence[Item], bins: Sequence[Bin]) -> tuple[Assignment, bool]:
    """A placement with the most VMs per tier as described above, and whether it is proven
    to be the best by `placement.score`."""
    ranks = order_ranks(items)
    room = [b.free for b in bins]
    groups = [set(b.groups) for b in bins]
    out: list[int | None] = [None] * len(items)
    proven = True
    used_at_least = 0
    for tier in (0, 1):
        placeable = [
            i
            for i, it in enumerate(items)
            if min(it.tier, 1) == tier and any(fits(it, b.free, b.groups) for b in bins)
        ]
        placeable.sort(key=lambda i: (items[i].size, ranks[i], items[i].name))
        sizes = [items[i].size for i in placeable]
        bound = _bound(sizes, [b.free for b in bins], used_at_least, per_host=tier == 0)
        count, spots = _largest_prefix(items, placeable, room, groups, bound)
        for i, j in zip(placeable[:count], spots, strict=True):
            out[i] = j
            room[j] -= items[i].size
            group = items[i].group
            if group is not None:
                groups[j].add(group)
        lowest_ranks = sum(sorted(ranks[i] for i in placeable)[:count])
        proven = (
            proven and count == bound and sum(ranks[i] for i in placeable[:count]) == lowest_ranks
        )
        used_at_least += sum(sizes[:count])
    return tuple(out), proven


def _bound(sizes: list[int], free: list[int], used: int, *, per_host: bool) -> int:
    """Most VMs of these sizes (ascending) any plan can place after `used` MiB are taken."""
    total = sum(free) - used
    fluid = sum(1 for prefix in accumulate(sizes) if prefix <= total)
    if not per_host:
        return fluid
    per = sum(sum(1 for prefix in accumulate(sizes) if prefix <= f) for f in free)
    return min(fluid, per)


def _largest_prefix(
    items: Sequence[Item],
    order: list[int],
    room: list[int],
    groups: list[set[str]],
    most: int,
) -> tuple[int, list[int]]:
    """The largest c <= most such that best fit decreasing places the c first VMs of `order`,
    found by bisection over c (a smaller prefix almost always fits when a larger one does;
    when it does not, the result is only less good, never wrong)."""
    lo, hi = 0, most
    best: list[int] = []
    while lo < hi:
        mid = (lo + hi + 1) // 2
        spots = _pack(items, order[:mid], room, groups)
        if spots is None:
            hi = mid - 1
        else:
            lo, best = mid, spots
    if len(best) != lo:
        best = _pack(items, order[:lo], room, groups) or []
    return lo, best


def _pack(
    items: Sequence[Item], chosen: list[int], room: list[int], groups: list[set[str]]
) -> list[int] | None:
    """Best fit decreasing of `chosen` on a copy of the hosts' state; spots in `chosen` order."""
    by_size = sorted(
        range(len(chosen)),
        key=lambda k: (items[chosen[k]].group is None, -items[chosen[k]].size, k),
    )
    vms = [(items[chosen[k]].size, items[chosen[k]].group) for k in by_size]
    spots = fit(vms, room, [set(g) for g in groups], best=True)
    if spots is None:
        return None
    out = [0] * len(chosen)
    for k, j in zip(by_size, spots, strict=True):
        out[k] = j
    return out
