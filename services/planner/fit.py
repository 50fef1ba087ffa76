"""Greedy packing of VMs onto hosts, fast enough to run inside the failure-set search.

Hosts are kept sorted by the room they have left, so each VM finds its host by bisection
instead of a scan: best fit takes the host with the least room that fits, worst fit the one
with the most. Ties are broken by host index, so the packing is deterministic.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Sequence

from services.planner.instance import Vm


def fit(
    items: Sequence[Vm], room: Sequence[int], groups: Sequence[set[str]], *, best: bool
) -> list[int] | None:
    """Place `items` in the order given; the host index of each, or None if one fits nowhere.

    `groups` (the anti-affinity groups present on each host) is updated in place with the
    groups of the VMs placed.
    """
    hosts = sorted(range(len(room)), key=lambda j: (room[j], j))
    rooms = [(room[j], j) for j in hosts]
    out: list[int] = []
    for size, group in items:
        if best:
            pos = bisect_left(rooms, (size, -1))
            while pos < len(rooms) and group is not None and group in groups[rooms[pos][1]]:
                pos += 1
            if pos == len(rooms):
                return None
        else:
            pos = len(rooms) - 1
            while pos >= 0 and group is not None and group in groups[rooms[pos][1]]:
                pos -= 1
            if pos < 0 or rooms[pos][0] < size:
                return None
        left, j = rooms.pop(pos)
        insort(rooms, (left - size, j))
        if group is not None:
            groups[j].add(group)
        out.append(j)
    return out


MAX_FILL_TYPES = 48
"""Above this many distinct VM sizes the bin-by-bin fill is not tried (its tables grow)."""
MAX_FILL_STATES = 4096
"""Most distinct partial sums the fill keeps per host; past it the fill is only a heuristic
that tries fewer combinations (any packing it returns is still valid)."""


def fill(sizes: Sequence[int], room: Sequence[int]) -> bool:
    """Whether hosts with `room` can take VMs of `sizes` (no anti-affinity), by filling one
    host at a time with the combination of the VMs left that leaves it the least slack (a
    subset-sum table over VM sizes), the roomiest host first, and if that fails the tightest
    first. Finds packings the decreasing greedy packings miss when a few VM sizes must be
    combined just right. True only with a packing."""
    counts: dict[int, int] = {}
    for s in sizes:
        counts[s] = counts.get(s, 0) + 1
    if len(counts) > MAX_FILL_TYPES:
        return False
    return any(_fill_in_order(dict(counts), sorted(room, reverse=rev)) for rev in (True, False))


def _fill_in_order(left: dict[int, int], room: list[int]) -> bool:
    for capacity in room:
        if not left:
            return True
        for s, k in _best_combination(left, capacity).items():
            left[s] -= k
            if left[s] == 0:
                del left[s]
    return not left


def _best_combination(left: dict[int, int], capacity: int) -> dict[int, int]:
    """The counts per size, within `left`, whose total comes closest to `capacity`."""
    reach: dict[int, tuple[int, int, int]] = {0: (0, 0, 0)}  # sum -> (previous sum, size, k)
    for s in sorted(left, reverse=True):
        for base in list(reach):
            for k in range(1, left[s] + 1):
                total = base + k * s
                if total > capacity:
                    break
                if total not in reach:
                    if len(reach) >= MAX_FILL_STATES:
                        break
                    reach[total] = (base, s, k)
    out: dict[int, int] = {}
    total = max(reach)
    while total:
        base, s, k = reach[total]
        out[s] = out.get(s, 0) + k
        total = base
    return out
