"""Restart plans for an actual failure set (spec/planner.md).

Who is considered: the running VMs of the failed hosts. Restart and best-effort VMs that are
agile are candidates; the others are listed in `not_restarted` with the reason they will not
come back ("not protected" for VMs without a restart priority, so the operator sees everything
that goes down with the hosts, "not agile" for best-effort VMs with local disks). Halted VMs
are not mentioned: nothing is lost for them.

Which plan: the most restart VMs placed, then the most best-effort VMs, then, among plans
placing as many, the smallest sum of restart-order ranks over the VMs placed (rank = position of
the VM's `order` among the distinct order values of the candidates): when two plans restart as
many VMs, the one restarting those that come first in restart order wins. Counting VMs first
means that when room runs out, several small VMs are preferred to one large one.

How: a greedy packing (worst fit decreasing, which spreads the load, then best fit decreasing)
that places every candidate is optimal at once. Otherwise the count-first greedy (most.py)
places the smallest VMs of each tier and is kept when capacity bounds prove it the best; else
CP-SAT decides (fixed seed, one worker, deterministic time limit: the same input gives the same
plan). If CP-SAT cannot prove optimality within `work_limit` the best plan found is returned
with `optimal=False`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from schemas import BEST_EFFORT, RESTART, VM, Pool
from services.planner.errors import unknown_host
from services.planner.most import most_placed
from services.planner.placement import (
    Assignment,
    Bin,
    Item,
    best_placement,
    greedy_decreasing,
    score,
)
from services.planner.results import NotPlaced, Placement, RestartPlan

NO_SURVIVOR = "no surviving host"
NOT_PROTECTED = "not protected: its ha_restart_priority is empty"
SURVIVORS = ("survivors", "a survivor", "every survivor")


def restart_plan(pool: Pool, failed: Iterable[str], *, work_limit: float = 10.0) -> RestartPlan:
    """Place the running restart and best-effort agile VMs of `failed` on the survivors.

    `failed` names hosts of the pool (duplicates are ignored); an unknown name raises
    `UnknownNameError` (a KeyError with a one-line message). `failed_hosts` lists them in pool
    order; `placements` are in restart order (order, then name); `not_restarted` gives a reason
    for every running VM of the failed hosts that is not placed, unprotected ones included.
    """
    failed_set = check_hosts(pool, failed)
    failed_hosts = tuple(h for h in pool.host_names if h in failed_set)
    survivors = [h for h in pool.host_names if h not in failed_set]
    bins = [survivor_bin(pool, h) for h in survivors]
    left_out: list[NotPlaced] = []
    candidates: list[VM] = []
    for vm in sorted(_running_on(pool, failed_set), key=lambda v: (v.order, v.name)):
        if vm.ha_restart_priority not in (RESTART, BEST_EFFORT):
            left_out.append(NotPlaced(vm.name, NOT_PROTECTED))
        elif not vm.agile:
            left_out.append(NotPlaced(vm.name, f"not agile: its disks are local to {vm.host}"))
        else:
            candidates.append(vm)
    items = [vm_item(vm) for vm in candidates]
    assignment, optimal = place_items(items, bins, work_limit)
    placements = [
        Placement(items[i].name, bins[j].name) for i, j in enumerate(assignment) if j is not None
    ]
    for i, j in enumerate(assignment):
        if j is None:
            reason = left_out_reason(items[i], bins, assignment, items)
            left_out.append(NotPlaced(items[i].name, reason))
    rank = {vm.name: (vm.order, vm.name) for vm in pool.vms}
    return RestartPlan(
        failed_hosts=failed_hosts,
        placements=tuple(sorted(placements, key=lambda p: rank[p.vm])),
        not_restarted=tuple(sorted(left_out, key=lambda n: rank[n.vm])),
        optimal=optimal,
    )


def check_hosts(pool: Pool, names: Iterable[str]) -> frozenset[str]:
    known = pool.host_names
    out = set()
    for name in names:
        if name not in known:
            raise unknown_host(name, known)
        out.add(name)
    return frozenset(out)


def survivor_bin(pool: Pool, host: str, exclude: frozenset[str] = frozenset()) -> Bin:
    """A surviving host as a bin: its free memory and the groups of the VMs running on it
    (`exclude` names VMs that are leaving it and no longer count)."""
    groups = frozenset(
        v.anti_affinity
        for v in pool.vms_on(host)
        if v.anti_affinity is not None and v.name not in exclude
    )
    return Bin(host, pool.free_mib(host), groups)


def vm_item(vm: VM, tier: int | None = None) -> Item:
    if tier is None:
        tier = 0 if vm.ha_restart_priority == RESTART else 1
    return Item(vm.name, vm.footprint, vm.anti_affinity, tier, vm.order)


def _running_on(pool: Pool, hosts: frozenset[str]) -> list[VM]:
    return [v for v in pool.vms if v.host is not None and v.host in hosts]


def place_items(
    items: Sequence[Item], bins: Sequence[Bin], work_limit: float
) -> tuple[Assignment, bool]:
    """The best assignment of `items` to `bins` (restart VMs first, then best-effort, then
    restart order) and whether it is proven optimal; deterministic."""
    if not bins or not items:
        return (None,) * len(items), True
    tries = [greedy_decreasing(items, bins, fit) for fit in ("worst", "best")]
    for assignment in tries:
        if all(j is not None for j in assignment):
            return assignment, True
    most, proven = most_placed(items, bins)
    if proven:
        return most, True
    hint = max([*tries, most], key=lambda a: score(items, a))
    solved = best_placement(items, bins, work_limit=work_limit, hint=hint)
    return solved.assignment, solved.optimal


def left_out_reason(
    item: Item,
    bins: Sequence[Bin],
    assignment: Assignment,
    items: Sequence[Item],
    *,
    targets: tuple[str, str, str] = SURVIVORS,
) -> str:
    """Why `item` is not in the plan, from what each target host has left once the plan is
    done. `targets` names the target hosts in the message: all, one, each."""
    many, one, each = targets
    if not bins:
        return NO_SURVIVOR
    room = [b.free for b in bins]
    groups = [set(b.groups) for b in bins]
    for i, j in enumerate(assignment):
        if j is not None:
            room[j] -= items[i].size
            group = items[i].group
            if group is not None:
                groups[j].add(group)
    if max(b.free for b in bins) < item.size:
        return (
            f"insufficient memory on {many}: needs {item.size} MiB, the most free on "
            f"{one} is {max(b.free for b in bins)} MiB"
        )
    with_room = [j for j in range(len(bins)) if room[j] >= item.size]
    if not with_room:
        return (
            f"insufficient memory on {many}: needs {item.size} MiB, at most {max(room)} MiB "
            f"left on {one} once the VMs ahead of it are placed"
        )
    if item.group is not None and all(item.group in groups[j] for j in with_room):
        return f"anti-affinity group {item.group}: {each} with room already runs a member"
    # It would fit somewhere as the plan stands: only possible when optimality was not proven.
    return "not placed within the planner's work limit (the plan is not proven optimal)"
