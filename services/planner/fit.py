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
