"""The pure fold of the event log: `apply(state, event) -> state`.

No IO, no clock: the same events always give the same state. Every event type has exactly
one handler (a test checks the table against the union). An event the state cannot take
(unknown host or VM, impossible order) is counted in `ignored` and otherwise skipped: the
log is the truth, and one odd event must never stop a replay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import MappingProxyType
from typing import Any

from schemas.events import (
    Event,
    EventBase,
    HADisabled,
    HAEnabled,
    HostAdded,
    HostDeclaredDead,
    HostExcluded,
    HostFenced,
    HostJoined,
    HostRejoined,
    HostRemoved,
    HostSuspected,
    NtolSet,
    PlanComputed,
    PlanRestored,
    PoolCreated,
    PoolOvercommitted,
    VMCreated,
    VMHaltedByGuest,
    VMProtectionSet,
    VMRestartOrdered,
    VMShutDownByAdmin,
    VMStarted,
    VMStartFailed,
    VMUnplaceable,
)
from schemas.pool import RESTART
from services.state.model import (
    HostState,
    PlanSummary,
    PoolState,
    PowerState,
    RestartOrder,
    VMState,
)

Handler = Callable[[PoolState, Any], PoolState]


def apply(state: PoolState, event: Event) -> PoolState:
    """The state after `event`."""
    return HANDLERS[type(event)](state, event)


def fold(events: Iterable[Event], state: PoolState | None = None) -> PoolState:
    """The state after every event, in order, starting from `state` (default: no pool)."""
    state = PoolState() if state is None else state
    for event in events:
        state = HANDLERS[type(event)](state, event)
    return state


# -- helpers: every handler ends in exactly one of these, so `applied` counts every event.


def _next(state: PoolState, **changes: Any) -> PoolState:
    return state._replace(applied=state.applied + 1, **changes)


def _skip(state: PoolState) -> PoolState:
    return state._replace(applied=state.applied + 1, ignored=state.ignored + 1)


def _with_host(state: PoolState, host: HostState) -> PoolState:
    hosts = state.hosts.copy()
    hosts[host.name] = host
    return _next(state, hosts=MappingProxyType(hosts))


def _with_vm(state: PoolState, vm: VMState) -> PoolState:
    vms = state.vms.copy()
    vms[vm.name] = vm
    return _next(state, vms=MappingProxyType(vms))


def _restartable(vm: VMState) -> bool:
    # spec/planner.md: restart plans place `restart` and `best-effort` VMs that are agile.
    return vm.spec.ha_restart_priority != "" and vm.spec.agile


def _lose_host(vms: dict[str, VMState], host: str, *, failed: bool) -> None:
    """VMs stop running on `host` and orders addressed to it are void (in place on a copy)."""
    for name, vm in vms.items():
        if vm.host == host:
            power: PowerState = "restarting" if failed and _restartable(vm) else "halted"
            vms[name] = vm._replace(host=None, power_state=power, order=None)
        elif vm.order is not None and vm.order.host == host:
            vms[name] = vm._replace(order=None)


# -- configuration


def _pool_created(state: PoolState, e: PoolCreated) -> PoolState:
    if state.exists:
        return _skip(state)
    pool = e.pool
    hosts = {h.name: HostState(spec=h) for h in pool.hosts}
    vms = {
        v.name: VMState(spec=v, host=v.host, power_state="running" if v.host else "halted")
        for v in pool.vms
    }
    return _next(
        state,
        name=pool.name,
        ha=pool.ha,
        hosts=MappingProxyType(hosts),
        vms=MappingProxyType(vms),
        origin=pool,
    )


def _host_added(state: PoolState, e: HostAdded) -> PoolState:
    if not state.exists or e.spec.name in state.hosts:
        return _skip(state)
    return _with_host(state, HostState(spec=e.spec))


def _host_removed(state: PoolState, e: HostRemoved) -> PoolState:
    if e.host not in state.hosts:
        return _skip(state)
    hosts = state.hosts.copy()
    del hosts[e.host]
    vms = state.vms.copy()
    _lose_host(vms, e.host, failed=False)
    return _next(state, hosts=MappingProxyType(hosts), vms=MappingProxyType(vms))


def _host_joined(state: PoolState, e: HostJoined) -> PoolState:
    host = state.hosts.get(e.host)
    if host is None:
        return _skip(state)
    return _with_host(
        state, host._replace(liveness="live", suspected=False, incarnation=e.incarnation)
    )


def _host_excluded(state: PoolState, e: HostExcluded) -> PoolState:
    host = state.hosts.get(e.host)
    if host is None:
        return _skip(state)
    return _with_host(state, host._replace(liveness="excluded", suspected=False))


def _vm_created(state: PoolState, e: VMCreated) -> PoolState:
    spec = e.spec
    if not state.exists or spec.name in state.vms or (spec.host and spec.host not in state.hosts):
        return _skip(state)
    power: PowerState = "running" if spec.host else "halted"
    return _with_vm(state, VMState(spec=spec, host=spec.host, power_state=power))


def _vm_protection_set(state: PoolState, e: VMProtectionSet) -> PoolState:
    vm = state.vms.get(e.vm)
    # A VM with local disks can never restart elsewhere (spec/pool-format.md).
    if vm is None or (e.ha_restart_priority == RESTART and not vm.spec.agile):
        return _skip(state)
    spec = vm.spec.model_copy(
        update={
            "ha_restart_priority": e.ha_restart_priority,
            "order": e.order,
            "start_delay_s": e.start_delay_s,
        }
    )
    return _with_vm(state, vm._replace(spec=spec))


def _ntol_set(state: PoolState, e: NtolSet) -> PoolState:
    if not state.exists:
        return _skip(state)
    ha = state.ha.model_copy(update={"host_failures_to_tolerate": e.host_failures_to_tolerate})
    return _next(state, ha=ha)


def _ha_enabled(state: PoolState, e: HAEnabled) -> PoolState:
    if not state.exists:
        return _skip(state)
    update: dict[str, Any] = {"enabled": True}
    if e.timeout_s is not None:
        update["timeout_s"] = e.timeout_s
    if e.heartbeat_store is not None:
        update["heartbeat_store"] = e.heartbeat_store
    return _next(state, ha=state.ha.model_copy(update=update))


def _ha_disabled(state: PoolState, e: HADisabled) -> PoolState:
    if not state.exists:
        return _skip(state)
    return _next(state, ha=state.ha.model_copy(update={"enabled": False}))


# -- liveness decisions


def _host_suspected(state: PoolState, e: HostSuspected) -> PoolState:
    host = state.hosts.get(e.host)
    if host is None or host.liveness != "live":
        return _skip(state)
    return _with_host(state, host._replace(suspected=True))


def _host_rejoined(state: PoolState, e: HostRejoined) -> PoolState:
    host = state.hosts.get(e.host)
    # Only a live (suspected) host rejoins; a fenced or dead one comes back by joining anew.
    if host is None or host.liveness != "live":
        return _skip(state)
    return _with_host(state, host._replace(suspected=False, incarnation=e.incarnation))


def _host_fenced(state: PoolState, e: HostFenced) -> PoolState:
    host = state.hosts.get(e.host)
    if host is None:
        return _skip(state)
    return _with_host(state, host._replace(liveness="fenced", suspected=False))


def _host_declared_dead(state: PoolState, e: HostDeclaredDead) -> PoolState:
    host = state.hosts.get(e.host)
    if host is None:
        return _skip(state)
    hosts = state.hosts.copy()
    hosts[e.host] = host._replace(liveness="dead", suspected=False)
    vms = state.vms.copy()
    _lose_host(vms, e.host, failed=True)
    return _next(state, hosts=MappingProxyType(hosts), vms=MappingProxyType(vms))


# -- plans


def _plan_computed(state: PoolState, e: PlanComputed) -> PoolState:
    if not state.exists:
        return _skip(state)
    plan = PlanSummary(
        event_id=e.event_id,
        based_on_seq=e.based_on_seq,
        max_host_failures_to_tolerate=e.max_host_failures_to_tolerate,
        upper_bound=e.upper_bound,
        exact=e.exact,
        worst_failure_set=e.worst_failure_set,
    )
    return _next(state, plan=plan)


def _pool_overcommitted(state: PoolState, e: PoolOvercommitted) -> PoolState:
    return _next(state, overcommitted=True) if state.exists else _skip(state)


def _plan_restored(state: PoolState, e: PlanRestored) -> PoolState:
    return _next(state, overcommitted=False) if state.exists else _skip(state)


# -- VM lifecycle


def _vm_restart_ordered(state: PoolState, e: VMRestartOrdered) -> PoolState:
    vm = state.vms.get(e.vm)
    target = state.hosts.get(e.host)
    # An order to a dead host is void from the start: its collector will never run it.
    if vm is None or vm.host is not None or target is None or target.liveness == "dead":
        return _skip(state)
    order = RestartOrder(host=e.host, incarnation=e.incarnation, plan=e.plan)
    return _with_vm(state, vm._replace(power_state="restarting", order=order, halted_by=None))


def _vm_unplaceable(state: PoolState, e: VMUnplaceable) -> PoolState:
    vm = state.vms.get(e.vm)
    if vm is None or vm.host is not None:
        return _skip(state)
    return _with_vm(state, vm._replace(power_state="unplaceable", order=None))


def _vm_started(state: PoolState, e: VMStarted) -> PoolState:
    vm = state.vms.get(e.vm)
    if vm is None or e.host not in state.hosts:
        return _skip(state)
    return _with_vm(
        state, vm._replace(host=e.host, power_state="running", order=None, halted_by=None)
    )


def _vm_start_failed(state: PoolState, e: VMStartFailed) -> PoolState:
    vm = state.vms.get(e.vm)
    if vm is None or vm.host is not None:
        return _skip(state)
    return _with_vm(state, vm._replace(power_state="restarting", order=None))


def _vm_halted_by_guest(state: PoolState, e: VMHaltedByGuest) -> PoolState:
    vm = state.vms.get(e.vm)
    if vm is None:
        return _skip(state)
    return _with_vm(
        state, vm._replace(host=None, power_state="halted", order=None, halted_by="guest")
    )


def _vm_shut_down_by_admin(state: PoolState, e: VMShutDownByAdmin) -> PoolState:
    vm = state.vms.get(e.vm)
    if vm is None:
        return _skip(state)
    return _with_vm(
        state, vm._replace(host=None, power_state="halted", order=None, halted_by="admin")
    )


HANDLERS: dict[type[EventBase], Handler] = {
    PoolCreated: _pool_created,
    HostAdded: _host_added,
    HostRemoved: _host_removed,
    HostJoined: _host_joined,
    HostExcluded: _host_excluded,
    VMCreated: _vm_created,
    VMProtectionSet: _vm_protection_set,
    NtolSet: _ntol_set,
    HAEnabled: _ha_enabled,
    HADisabled: _ha_disabled,
    HostSuspected: _host_suspected,
    HostRejoined: _host_rejoined,
    HostFenced: _host_fenced,
    HostDeclaredDead: _host_declared_dead,
    PlanComputed: _plan_computed,
    PoolOvercommitted: _pool_overcommitted,
    PlanRestored: _plan_restored,
    VMRestartOrdered: _vm_restart_ordered,
    VMUnplaceable: _vm_unplaceable,
    VMStarted: _vm_started,
    VMStartFailed: _vm_start_failed,
    VMHaltedByGuest: _vm_halted_by_guest,
    VMShutDownByAdmin: _vm_shut_down_by_admin,
}
