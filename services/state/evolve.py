"""Building the next state: every handler of the fold ends in `advance` or `skip`, so that
`applied` counts every event and `ignored` every event the state could not take."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from services.state.model import (
    HostState,
    PoolState,
    PowerState,
    VMState,
)


def advance(state: PoolState, **changes: Any) -> PoolState:
    return state._replace(applied=state.applied + 1, **changes)


def skip(state: PoolState) -> PoolState:
    return state._replace(applied=state.applied + 1, ignored=state.ignored + 1)


def with_host(state: PoolState, host: HostState) -> PoolState:
    hosts = state.hosts.copy()
    hosts[host.name] = host
    return advance(state, hosts=MappingProxyType(hosts))


def with_vm(state: PoolState, vm: VMState) -> PoolState:
    vms = state.vms.copy()
    vms[vm.name] = vm
    return advance(state, vms=MappingProxyType(vms))


def lose_host(vms: dict[str, VMState], host: str, *, failed: bool) -> None:
    """VMs stop running on `host` and orders addressed to it are void (in place on a copy)."""
    for name, vm in vms.items():
        if vm.host == host:
            power: PowerState = "restarting" if failed and vm.spec.restartable else "halted"
            vms[name] = vm._replace(host=None, power_state=power, order=None)
        elif vm.order is not None and vm.order.host == host:
            vms[name] = vm._replace(order=None)
