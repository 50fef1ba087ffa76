"""Whether a VM fits on a host of a replayed state: the constraints that bind a placement.

A host's load is what runs on it plus what is already ordered to it: orders are decided one
after another, and each must leave room for those before it.
"""

from __future__ import annotations

from typing import NamedTuple

from services.state import PoolState


class Fit(NamedTuple):
    """How `vm` would sit on `host` in a given state."""

    vm: str
    host: str
    needs_mib: int
    free_mib: int
    group: str | None
    group_members: tuple[str, ...]  # VMs of `group` running on or ordered to the host

    @property
    def fits_memory(self) -> bool:
        return self.needs_mib <= self.free_mib

    @property
    def fits_group(self) -> bool:
        return not self.group_members

    @property
    def fits(self) -> bool:
        return self.fits_memory and self.fits_group

    def memory_text(self) -> str:
        return f"needs {self.needs_mib} MiB, {self.host} had {self.free_mib} MiB free"

    def group_text(self) -> str:
        if self.group is None:
            return "no anti-affinity group"
        if not self.group_members:
            return f"anti-affinity group {self.group}: no member on {self.host}"
        members = ", ".join(repr(m) for m in self.group_members)
        return f"anti-affinity group {self.group}: {self.host} already has {members}"

    def problem(self) -> str | None:
        """Why it does not fit (memory first), None when it does."""
        if not self.fits_memory:
            return f"does not fit: {self.memory_text()}"
        if not self.fits_group:
            return self.group_text()
        return None


def fit_on(state: PoolState, vm_name: str, host_name: str) -> Fit:
    """The fit of VM `vm_name` on host `host_name` (both must be in `state`)."""
    vm = state.vms[vm_name]
    spec = state.hosts[host_name].spec
    load = 0
    members: list[str] = []
    group = vm.spec.anti_affinity
    # One pass over the VMs, inlined: verify runs this for every order in the log.
    for other in state.vms.values():
        where = other.host
        if where is None and other.order is not None:
            where = other.order.host
        if where != host_name:
            continue
        other_spec = other.spec
        if other_spec.name == vm_name:
            continue
        load += other_spec.memory_mib + other_spec.memory_overhead_mib
        if group is not None and other_spec.anti_affinity == group:
            members.append(other_spec.name)
    free = spec.memory_mib - spec.reserved_mib - load
    return Fit(vm_name, host_name, vm.spec.footprint, free, group, tuple(members))


def liveset_fits(state: PoolState, vm_name: str) -> tuple[Fit, ...]:
    """The fit of the VM on every liveset member, in pool order."""
    return tuple(fit_on(state, vm_name, host) for host in state.liveset)
