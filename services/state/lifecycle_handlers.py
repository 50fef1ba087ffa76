"""Fold handlers of VM lifecycle events: restart orders and what became of them."""

from __future__ import annotations

from schemas.events import (
    VMEvacuated,
    VMFailed,
    VMHaltedByGuest,
    VMLost,
    VMRestartOrdered,
    VMShutDownByAdmin,
    VMStarted,
    VMStartFailed,
    VMUnplaceable,
)
from services.state.evolve import (
    skip,
    with_vm,
)
from services.state.model import (
    HaltedBy,
    PoolState,
    PowerState,
    RestartOrder,
)


def vm_restart_ordered(state: PoolState, e: VMRestartOrdered) -> PoolState:
    vm = state.vms.get(e.vm)
    target = state.hosts.get(e.host)
    # An order to a dead host is void from the start: its collector will never run it. An
    # order to the host the VM is placed on starts it there (the pool file's VMs, when their
    # host's first incarnation joins: nothing runs them yet).
    if vm is None or vm.host not in (None, e.host) or target is None:
        return skip(state)
    if target.liveness == "dead":
        return skip(state)
    order = RestartOrder(host=e.host, incarnation=e.incarnation, plan=e.plan)
    return with_vm(
        state, vm._replace(host=None, power_state="restarting", order=order, halted_by=None)
    )


def vm_unplaceable(state: PoolState, e: VMUnplaceable) -> PoolState:
    vm = state.vms.get(e.vm)
    if vm is None or vm.host is not None:
        return skip(state)
    return with_vm(state, vm._replace(power_state="unplaceable", order=None))


def vm_started(state: PoolState, e: VMStarted) -> PoolState:
    vm = state.vms.get(e.vm)
    if vm is None or e.host not in state.hosts:
        return skip(state)
    return with_vm(
        state, vm._replace(host=e.host, power_state="running", order=None, halted_by=None)
    )


def vm_start_failed(state: PoolState, e: VMStartFailed) -> PoolState:
    vm = state.vms.get(e.vm)
    if vm is None or vm.host is not None:
        return skip(state)
    return with_vm(state, vm._replace(power_state="restarting", order=None))


def vm_halted_by_guest(state: PoolState, e: VMHaltedByGuest) -> PoolState:
    vm = state.vms.get(e.vm)
    if vm is None:
        return skip(state)
    return with_vm(
        state, vm._replace(host=None, power_state="halted", order=None, halted_by="guest")
    )


def vm_lost(state: PoolState, e: VMLost) -> PoolState:
    """Stopped without an admin shutdown: HA restarts it when it is protected or best-effort
    (and agile), else it stays halted."""
    vm = state.vms.get(e.vm)
    if vm is None:
        return skip(state)
    managed = vm.spec.restartable
    power: PowerState = "restarting" if managed else "halted"
    halted_by: HaltedBy | None = None if managed else "guest"
    return with_vm(
        state, vm._replace(host=None, power_state=power, order=None, halted_by=halted_by)
    )


def vm_failed(state: PoolState, e: VMFailed) -> PoolState:
    """HA gave up on it: down until an operator starts it."""
    vm = state.vms.get(e.vm)
    if vm is None:
        return skip(state)
    return with_vm(state, vm._replace(host=None, power_state="failed", order=None))


def vm_shut_down_by_admin(state: PoolState, e: VMShutDownByAdmin) -> PoolState:
    vm = state.vms.get(e.vm)
    if vm is None:
        return skip(state)
    return with_vm(
        state, vm._replace(host=None, power_state="halted", order=None, halted_by="admin")
    )


def vm_evacuated(state: PoolState, e: VMEvacuated) -> PoolState:
    """Stopped to leave a host in maintenance: it waits for its start elsewhere."""
    vm = state.vms.get(e.vm)
    if vm is None:
        return skip(state)
    return with_vm(
        state,
        vm._replace(host=None, power_state="restarting", order=None, halted_by="maintenance"),
    )
