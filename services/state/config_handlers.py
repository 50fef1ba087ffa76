"""Fold handlers of configuration events: what the pool is made of, HA settings."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from schemas.events import (
    HADisabled,
    HAEnabled,
    HostAdded,
    HostExcluded,
    HostJoined,
    HostKeyTrusted,
    HostRemoved,
    NtolSet,
    OvercommitAllowed,
    PoolCreated,
    VMCreated,
    VMProtectionSet,
)
from schemas.pool import RESTART
from services.state.evolve import (
    advance,
    lose_host,
    skip,
    with_host,
    with_vm,
)
from services.state.model import (
    HostState,
    PoolState,
    PowerState,
    VMState,
)


def pool_created(state: PoolState, e: PoolCreated) -> PoolState:
    if state.exists:
        return skip(state)
    pool = e.pool
    hosts = {h.name: HostState(spec=h) for h in pool.hosts}
    vms = {
        v.name: VMState(spec=v, host=v.host, power_state="running" if v.host else "halted")
        for v in pool.vms
    }
    return advance(
        state,
        name=pool.name,
        ha=pool.ha,
        hosts=MappingProxyType(hosts),
        vms=MappingProxyType(vms),
        origin=pool,
    )


def host_added(state: PoolState, e: HostAdded) -> PoolState:
    if not state.exists or e.spec.name in state.hosts:
        return skip(state)
    return with_host(state, HostState(spec=e.spec))


def host_key_trusted(state: PoolState, e: HostKeyTrusted) -> PoolState:
    host = state.hosts.get(e.host)
    if host is None:
        return skip(state)
    return with_host(state, host._replace(spec=host.spec.model_copy(update={"key": e.key})))


def host_removed(state: PoolState, e: HostRemoved) -> PoolState:
    if e.host not in state.hosts:
        return skip(state)
    hosts = state.hosts.copy()
    del hosts[e.host]
    vms = state.vms.copy()
    lose_host(vms, e.host, failed=False)
    return advance(state, hosts=MappingProxyType(hosts), vms=MappingProxyType(vms))


def host_joined(state: PoolState, e: HostJoined) -> PoolState:
    host = state.hosts.get(e.host)
    if host is None:
        return skip(state)
    return with_host(
        state, host._replace(liveness="live", suspected=False, incarnation=e.incarnation)
    )


def host_excluded(state: PoolState, e: HostExcluded) -> PoolState:
    host = state.hosts.get(e.host)
    if host is None:
        return skip(state)
    return with_host(state, host._replace(liveness="excluded", suspected=False))


def vm_created(state: PoolState, e: VMCreated) -> PoolState:
    spec = e.spec
    if not state.exists or spec.name in state.vms or (spec.host and spec.host not in state.hosts):
        return skip(state)
    power: PowerState = "running" if spec.host else "halted"
    return with_vm(state, VMState(spec=spec, host=spec.host, power_state=power))


def vm_protection_set(state: PoolState, e: VMProtectionSet) -> PoolState:
    vm = state.vms.get(e.vm)
    # A VM with local disks can never restart elsewhere (spec/pool-format.md).
    if vm is None or (e.ha_restart_priority == RESTART and not vm.spec.agile):
        return skip(state)
    spec = vm.spec.model_copy(
        update={
            "ha_restart_priority": e.ha_restart_priority,
            "order": e.order,
            "start_delay_s": e.start_delay_s,
        }
    )
    return with_vm(state, vm._replace(spec=spec))


def ntol_set(state: PoolState, e: NtolSet) -> PoolState:
    if not state.exists:
        return skip(state)
    ha = state.ha.model_copy(update={"host_failures_to_tolerate": e.host_failures_to_tolerate})
    return advance(state, ha=ha)


def overcommit_allowed(state: PoolState, e: OvercommitAllowed) -> PoolState:
    if not state.exists:
        return skip(state)
    return advance(state, ha=state.ha.model_copy(update={"allow_overcommit": e.allowed}))


def ha_enabled(state: PoolState, e: HAEnabled) -> PoolState:
    if not state.exists:
        return skip(state)
    update: dict[str, Any] = {"enabled": True}
    if e.timeout_s is not None:
        update["timeout_s"] = e.timeout_s
    if e.heartbeat_store is not None:
        update["heartbeat_store"] = e.heartbeat_store
    return advance(state, ha=state.ha.model_copy(update=update))


def ha_disabled(state: PoolState, e: HADisabled) -> PoolState:
    if not state.exists:
        return skip(state)
    return advance(state, ha=state.ha.model_copy(update={"enabled": False}))
