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
from dataclasses import dataclass

import numpy as np

from services.planner.fit import fit
from services.planner.instance import Instance, Vm
from services.planner.profile import Grouped, GuaranteeRows, Profile, guarantee_rows

STAGE_TWO_PLAIN_ROWS = 256
"""Plain rows of a stage-2 problem at most (profile.guarantee_rows merges sizes past it)."""


@dataclass(frozen=True, slots=True)
class Packing:
    """Stage 1: where the VMs of F0 (`chosen`) went. Hosts of F0 have no room left."""

    chosen: tuple[int, ...]
    room: tuple[int, ...]
    groups: tuple[frozenset[str], ...]
    placed: tuple[tuple[Vm, ...], ...]
    """Per host, the VMs of F0 that stage 1 put on it."""


def initial(inst: Instance) -> Packing:
    """Stage 1 with nothing failed yet."""
    return Packing((), inst.free, inst.groups, tuple(() for _ in range(inst.n)))


def extend(inst: Instance, base: Packing, new: Sequence[int]) -> Packing | None:
    """Stage 1 for F0 = base.chosen + `new`, from the packing of base.chosen: the VMs of the
    new hosts and those stage 1 had put on them are placed (best fit decreasing) on the hosts
    still up, everything else stays. None when they do not all fit."""
    chosen = (*base.chosen, *new)
    gone = set(chosen)
    alive = [h for h in range(inst.n) if h not in gone]
    items = [vm for h in new for vm in (*base.placed[h], *inst.vms[h])]
    items.sort(key=lambda vm: (vm[1] is None, -vm[0], vm[1] or ""))
    groups = [set(base.groups[h]) for h in alive]
    spots = fit(items, [base.room[h] for h in alive], groups, best=True)
    if spots is None:
        return None
    room = list(base.room)
    placed = [list(p) for p in base.placed]
    for h in new:
        room[h] = 0
        placed[h] = []
    for vm, j in zip(items, spots, strict=True):
        room[alive[j]] -= vm[0]
        placed[alive[j]].append(vm)
    new_groups = list(base.groups)
    for j, h in enumerate(alive):
        new_groups[h] = frozenset(groups[j])
    return Packing(chosen, tuple(room), tuple(new_groups), tuple(tuple(p) for p in placed))


@dataclass(frozen=True, slots=True)
class StageTwo:
    """The derived problem once stage 1 has placed the VMs of F0, as guarantee rows over the
    hosts (those of F0 weigh nothing: no room, no VMs). One stage 1 serves every node of the
    search that shares F0, and seeds the stage 1 of the nodes below that add hosts to it."""

    packing: Packing
    rows: GuaranteeRows

    def proves(self, candidates: Sequence[int], r: int) -> bool:
        """Whether every r-subset T of `candidates` makes F0 + T feasible."""
        if self.rows.limits.size == 0:
            return True
        cand = list(candidates)
        weights = self.rows.weights[:, cand]
        needed = self.rows.needs[:, cand].any(axis=1)
        top = -np.partition(-weights, r - 1, axis=1)[:, :r] if r < len(cand) else weights
        return bool(np.all((top.sum(axis=1) <= self.rows.limits) | ~needed))


def stage_two(inst: Instance, prof: Profile, packing: Packing) -> StageTwo:
    """The stage-2 problem of a stage-1 packing: each host's VMs are its own protected VMs
    plus those stage 1 put on it; its free memory is what stage 1 left."""
    dead = list(packing.chosen)
    plain = prof.plain.copy()
    plain[dead] = 0
    outside = prof.outside.copy()
    group_row = {g: i for i, g in enumerate(prof.groups)}
    moved_host: list[int] = []
    moved_group: list[int] = []
    moved_col: list[int] = []
    for h, vms in enumerate(packing.placed):
        for size, group in vms:
            if group is None:
                plain[h, prof.index[size]] += 1
            else:
                outside[group_row[group], h] = False
                moved_host.append(h)
                moved_group.append(group_row[group])
                moved_col.append(prof.index[size])
    own = prof.grouped
    alive = np.ones(inst.n, dtype=np.bool_)
    alive[dead] = False
    stay = alive[own.host]
    grouped = Grouped(
        np.concatenate([own.host[stay], np.array(moved_host, np.int64)]),
        np.concatenate([own.group[stay], np.array(moved_group, np.int64)]),
        np.concatenate([own.col[stay], np.array(moved_col, np.int64)]),
    )
    free = np.array(packing.room, dtype=np.int64)
    rows = guarantee_rows(
        free, plain, grouped, outside, prof.sizes, most_plain_rows=STAGE_TWO_PLAIN_ROWS
    )
    return StageTwo(packing, rows)


def stage_one(inst: Instance, prof: Profile, chosen: Sequence[int]) -> StageTwo | None:
    """Stage 1 for F0 = `chosen` from scratch, and its stage-2 problem (None if F0's VMs do
    not all fit on the other hosts)."""
    packing = extend(inst, initial(inst), chosen)
    return None if packing is None else stage_two(inst, prof, packing)
