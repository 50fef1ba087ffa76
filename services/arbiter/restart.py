"""Where the VMs of dead hosts go: first fit by memory on liveset members.

Deliberately small and deterministic: the orchestrator of the next issue replaces it with the
CP-SAT planner's restart plans. VMs go in restart order (`order`, then name); hosts are tried
in name order; a VM that fits nowhere waits for capacity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.arbiter.view import LivenessView, VmRecord


@dataclass(frozen=True, slots=True)
class Placement:
    vm: str
    host: str


def waiting(view: LivenessView) -> list[VmRecord]:
    """Protected VMs that need a host, in restart order."""
    pending = [v for v in view.vms.values() if v.state in ("restarting", "unplaceable")]
    return sorted(pending, key=lambda v: (v.order, v.name))


def first_fit(
    vms: Iterable[VmRecord], free_mib: Mapping[str, int]
) -> tuple[list[Placement], list[VmRecord]]:
    """Placements for `vms` on the hosts of `free_mib` (free memory per liveset member), and
    the VMs that fit nowhere."""
    free = dict(sorted(free_mib.items()))
    placed: list[Placement] = []
    unplaced: list[VmRecord] = []
    for vm in vms:
        host = next((h for h, room in free.items() if room >= vm.footprint_mib), None)
        if host is None:
            unplaced.append(vm)
            continue
        free[host] -= vm.footprint_mib
        placed.append(Placement(vm.name, host))
    return placed, unplaced
