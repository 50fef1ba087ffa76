"""Evacuation plans: take one host into maintenance (XenServer: host-evacuate).

Every running VM of the host must move, whatever its HA priority (maintenance migrates all of
them). VMs that are not agile cannot move (their disks are local) and make the evacuation
impossible; so does a lack of room or of anti-affinity-compatible hosts elsewhere.

Where VMs go: memory and anti-affinity are respected (a VM may not join a host that already
runs a member of its group). Among the placements that work, the plan prefers one after which
the pool still tolerates its configured number of host failures. It tries, in this order,
worst fit decreasing (spreads the VMs: the most free memory left everywhere), best fit
decreasing (keeps whole hosts free for big VMs), and, when neither places every VM, a CP-SAT
placement; it keeps the first whose failure capacity afterwards meets ntol, or else the one
with the highest proven capacity (the first of equals). Deterministic: same pool, same plan.

Capacity afterwards (`capacity_after`) is max host failures to tolerate of the pool without the
host (in maintenance it is neither a failover target nor a failure candidate) once the VMs have
moved. It is judged against the pool's configured ntol (`capacity_after.host_failures_to_tolerate`
and `overcommitted` say so): taking a host out of a two-host pool configured with ntol 1 leaves
it unable to absorb any failure, and the plan says that ntol 1 no longer holds rather than "ntol
0 met" (it once compared with ntol clipped to the hosts left). The pool description handed to
the capacity search has one host less, so there ntol is clipped to hosts - 1 to stay valid; the
placements are still ranked by that reachable target. `ntol_holds` compares the proven value,
so it never claims more protection than is proven.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from schemas import Pool
from services.planner.capacity import max_failures
from services.planner.errors import unknown_host
from services.planner.placement import (
    Assignment,
    Bin,
    Item,
    best_placement,
    greedy_decreasing,
)
from services.planner.restart import left_out_reason, survivor_bin, vm_item
from services.planner.results import EvacuationPlan, FailureCapacity, NotPlaced, Placement

OTHER_HOSTS = ("other hosts", "another host", "every other host")


def evacuation_plan(
    pool: Pool, host: str, *, work_limit: float = 30.0, configured_ntol: int | None = None
) -> EvacuationPlan:
    """Where each running VM of `host` goes so the host can enter maintenance.

    An unknown host raises `UnknownNameError` (a KeyError with a one-line message).
    `work_limit` (deterministic seconds) is shared by the placement and the capacity checks.
    `configured_ntol` is the target the plan is judged against, when `pool`'s own was clipped
    (the running pool's plan_pool drops dead hosts); by default the pool's.
    """
    target = pool.ha.host_failures_to_tolerate if configured_ntol is None else configured_ntol
    if host not in pool.host_names:
        raise unknown_host(host, pool.host_names)
    leaving = sorted(pool.vms_on(host), key=lambda v: (v.order, v.name))
    cannot = [
        NotPlaced(v.name, f"not agile: its disks are local to {host}")
        for v in leaving
        if not v.agile
    ]
    movers = [v for v in leaving if v.agile]
    others = [h for h in pool.host_names if h != host]
    if not others:
        cannot += [NotPlaced(v.name, "no other host in the pool") for v in movers]
        return _impossible(host, [], cannot)
    items = [vm_item(v, tier=0) for v in movers]
    bins = [survivor_bin(pool, h) for h in others]
    candidates = _placements(items, bins, work_limit / 2)
    complete = [a for a in candidates if all(j is not None for j in a)]
    if not complete:
        best = max(candidates, key=lambda a: sum(j is not None for j in a))
        moves = _moves(items, bins, best)
        cannot += [
            NotPlaced(
                items[i].name, left_out_reason(items[i], bins, best, items, targets=OTHER_HOSTS)
            )
            for i, j in enumerate(best)
            if j is None
        ]
        return _impossible(host, moves, cannot)
    if cannot:
        return _impossible(host, _moves(items, bins, complete[0]), cannot)
    ntol = min(pool.ha.host_failures_to_tolerate, len(others) - 1)
    share = work_limit / 2 / len(complete)
    chosen: tuple[Assignment, FailureCapacity] | None = None
    for assignment in complete:
        after = _pool_after(pool, host, items, bins, assignment, ntol)
        capacity = max_failures(after, work_limit=share)
        if chosen is None or (
            capacity.max_host_failures_to_tolerate > chosen[1].max_host_failures_to_tolerate
        ):
            chosen = (assignment, capacity)
        if capacity.max_host_failures_to_tolerate >= ntol:
            break
    assert chosen is not None
    assignment, capacity = chosen
    capacity = replace(capacity, host_failures_to_tolerate=target)
    return EvacuationPlan(
        host=host,
        possible=True,
        moves=tuple(_moves(items, bins, assignment)),
        cannot_move=(),
        capacity_after=capacity,
        ntol_holds=capacity.max_host_failures_to_tolerate >= target,
    )


def _placements(items: Sequence[Item], bins: Sequence[Bin], work_limit: float) -> list[Assignment]:
    """Distinct placements to choose from, in order of preference."""
    out: list[Assignment] = []
    for fit in ("worst", "best"):
        assignment = greedy_decreasing(items, bins, fit)
        if assignment not in out:
            out.append(assignment)
    if not any(all(j is not None for j in a) for a in out):
        hint = max(out, key=lambda a: sum(j is not None for j in a))
        solved = best_placement(items, bins, work_limit=work_limit, hint=hint)
        if solved.assignment not in out:
            out.append(solved.assignment)
    return out


def _moves(items: Sequence[Item], bins: Sequence[Bin], assignment: Assignment) -> list[Placement]:
    return [
        Placement(items[i].name, bins[j].name) for i, j in enumerate(assignment) if j is not None
    ]


def _impossible(host: str, moves: list[Placement], cannot: list[NotPlaced]) -> EvacuationPlan:
    return EvacuationPlan(
        host=host,
        possible=False,
        moves=tuple(moves),
        cannot_move=tuple(cannot),
        capacity_after=None,
        ntol_holds=False,
    )


def _pool_after(
    pool: Pool,
    host: str,
    items: Sequence[Item],
    bins: Sequence[Bin],
    assignment: Assignment,
    ntol: int,
) -> Pool:
    """The pool as the failure planner sees it during maintenance: without `host`, its VMs
    on their new hosts, ntol clipped to the hosts left."""
    target = {items[i].name: bins[j].name for i, j in enumerate(assignment) if j is not None}
    data: dict[str, Any] = pool.model_dump()
    data["hosts"] = [h for h in data["hosts"] if h["name"] != host]
    data["vms"] = [{**v, "host": target.get(v["name"], v["host"])} for v in data["vms"]]
    data["ha"] = {**data["ha"], "host_failures_to_tolerate": ntol}
    return Pool.model_validate(data)
