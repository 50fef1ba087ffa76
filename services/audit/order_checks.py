"""Re-checking restart orders and what became of them against the replayed state.

DESIGN.md: VMs go only to liveset members (joined, lease current, not suspected or dead),
each order belongs to the target's current incarnation, and the VM must fit there (memory,
anti-affinity) beside what runs and what is already ordered there. A VM HA gave up on
(`vm_failed`) is started only by an operator; a lost VM (`vm_lost`) is restarted as any other.
"""

from __future__ import annotations

from schemas.events import VMRestartOrdered, VMStarted, VMUnplaceable
from services.audit.context import Context, incarnation_problem
from services.audit.findings import Notes
from services.audit.fit import fit_on, liveset_fits
from services.state import HostState, VMState


def _vm(ctx: Context, name: str, notes: Notes) -> VMState | None:
    vm = ctx.state.vms.get(name)
    if vm is None:
        notes.differ(f"VM {name!r} is not in the pool")
    return vm


def _target(ctx: Context, name: str, notes: Notes) -> HostState | None:
    host = ctx.state.hosts.get(name)
    if host is None:
        notes.differ(f"host {name} is not in the pool")
    return host


def check_restart_ordered(ctx: Context, e: VMRestartOrdered, notes: Notes) -> None:
    vm = _vm(ctx, e.vm, notes)
    target = _target(ctx, e.host, notes)
    if vm is None or target is None:
        return
    if not ctx.state.ha.enabled and not e.plan.startswith("operator-start:"):
        notes.differ("HA is disabled: no VM is restarted until it is enabled again")
    if vm.host is not None and vm.host != e.host:
        notes.differ(f"the VM already runs on {vm.host}")
    elif vm.order is not None:
        notes.differ(
            f"an order to {vm.order.host} (incarnation {vm.order.incarnation}) is still pending"
        )
    # Any VM is started where the pool file places it (at its host's first join) and moved
    # off a host in maintenance; only HA restarts need a restart priority.
    # An operator's `haplan vm start` (plan `operator-start:...`) starts any halted VM.
    in_place = vm.host == e.host
    by_operator = e.plan.startswith("operator-start:")
    exempt = in_place or by_operator or vm.halted_by == "maintenance"
    if vm.spec.ha_restart_priority == "" and not exempt:
        notes.differ("the VM is not protected (no ha_restart_priority)")
    elif not vm.spec.agile:
        notes.differ("the VM is not agile: its disks are local to its host")
    if vm.halted_by == "admin" and not by_operator:
        notes.differ("an admin shut the VM down: it stays halted")
    if vm.power_state == "failed" and not by_operator:
        notes.differ("HA gave up on the VM (vm_failed): only an operator's start may start it")
    if not target.in_liveset:
        notes.differ(f"{e.host} is not a liveset member (it is {ctx.host_state_text(target)})")
    problem = incarnation_problem(target, e.incarnation, "the order is for")
    if problem:
        notes.differ(problem)
    if vm.host is None:
        fit = fit_on(ctx.state, e.vm, e.host).problem()
        if fit:
            notes.differ(f"the VM {fit}")


def check_unplaceable(ctx: Context, e: VMUnplaceable, notes: Notes) -> None:
    vm = _vm(ctx, e.vm, notes)
    if vm is None:
        return
    if vm.host is not None:
        notes.differ(f"the VM runs on {vm.host}")
        return
    room = [f for f in liveset_fits(ctx.state, e.vm) if f.fits]
    if room:
        notes.differ(f"the VM fits on liveset member {room[0].host} ({room[0].memory_text()})")


def check_started(ctx: Context, e: VMStarted, notes: Notes) -> None:
    """A start is the collector executing an order: only the order's incarnation may run it,
    never on a dead host, never while the VM runs elsewhere (invariant 1)."""
    vm = _vm(ctx, e.vm, notes)
    host = _target(ctx, e.host, notes)
    if vm is None or host is None:
        return
    if vm.host is not None and vm.host != e.host:
        notes.differ(f"the VM still runs on {vm.host}: it would run on two hosts at once")
    if host.liveness == "dead":
        notes.differ(f"host {e.host} is dead")
    problem = incarnation_problem(host, e.incarnation, "it was started by")
    if problem:
        notes.differ(problem)
    order = vm.order
    if order is not None and (order.host, order.incarnation) != (e.host, e.incarnation):
        notes.differ(
            f"the pending order is for {order.host} (incarnation {order.incarnation}), not "
            f"{e.host} (incarnation {e.incarnation})"
        )
