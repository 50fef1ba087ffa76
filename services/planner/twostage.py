"""The two-stage proof: every completion of a partial failure set is feasible.

In the search, a node fixes part of the failure set (F0) and leaves r more hosts to pick
among the candidates. Stage 1 packs the protected VMs of F0 onto the other hosts (best fit
decreasing). Stage 2 is a new problem of the same form: a host h outside F0 now frees, when it
fails, its own protected VMs plus the VMs of F0 that stage 1 put on it, and offers only the
room stage 1 left it. If the guarantee rows (bounds.py) prove every r-set of candidates
feasible in that problem, then for any completion T the stage-1 placements on survivors stay,
the VMs of T and those stage 1 had put on T are placed by stage 2, and F0 + T is feasible.

Why this is stronger than the rows on the original problem: the guarantee loses up to s - 1
MiB on every survivor with room, and stage 1 fills many survivors to the brim, where nothing
is lost any more. Near the capacity limit that is the difference between enumerating millions
of failure sets and proving them all with one packing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from services.planner.instance import Instance
from services.planner.profile import Grouped, Profile, guarantee_rows


def completions_proven(
    inst: Instance, prof: Profile, chosen: Sequence[int], candidates: Sequence[int], r: int
) -> bool:
    """Whether every failure set chosen + T, T an r-subset of `candidates`, is feasible."""
    chosen_set = set(chosen)
    others = [h for h in range(inst.n) if h not in chosen_set]
    column = np.full(inst.n, -1, dtype=np.int64)
    column[others] = np.arange(len(others))
    room = [inst.free[h] for h in others]
    groups = [set(inst.groups[h]) for h in others]
    plain = prof.plain[others]
    outside = prof.outside[:, others]
    group_row = {g: i for i, g in enumerate(prof.groups)}
    moved_host: list[int] = []
    moved_group: list[int] = []
    moved_col: list[int] = []
    items = sorted((vm for h in chosen for vm in inst.vms[h]), key=lambda vm: (-vm[0], vm[1] or ""))
    for size, group in items:
        best = -1
        for j, left in enumerate(room):
            if left < size or (group is not None and group in groups[j]):
                continue
            if best < 0 or left < room[best]:
                best = j
        if best < 0:
            return False
        room[best] -= size
        if group is None:
            plain[best, prof.index[size]] += 1
        else:
            groups[best].add(group)
            outside[group_row[group], best] = False
            moved_host.append(best)
            moved_group.append(group_row[group])
            moved_col.append(prof.index[size])
    own = prof.grouped
    stay = column[own.host] >= 0
    grouped = Grouped(
        np.concatenate([column[own.host[stay]], np.array(moved_host, np.int64)]),
        np.concatenate([own.group[stay], np.array(moved_group, np.int64)]),
        np.concatenate([own.col[stay], np.array(moved_col, np.int64)]),
    )
    rows = guarantee_rows(np.array(room, dtype=np.int64), plain, grouped, outside, prof.sizes)
    if rows.limits.size == 0:
        return True
    cand = column[list(candidates)]
    weights = rows.weights[:, cand]
    needed = rows.needs[:, cand].any(axis=1)
    top = -np.partition(-weights, r - 1, axis=1)[:, :r] if r < len(cand) else weights
    return bool(np.all((top.sum(axis=1) <= rows.limits) | ~needed))
