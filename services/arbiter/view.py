"""What the arbiter's decisions say about the pool: the part of its state a new leader rebuilds
from the log (`replay`). Everything else it knows (lease timings, readings, beacons) is
volatile, which is why a new leader declares nothing for T_dead.

Decisions (services.arbiter.decisions, re-exported here) are the arbiter's appends; the NATS
shell turns each into its event of schemas.events. `fold` is pure: a new view per decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal

from schemas.pool import BEST_EFFORT, RESTART, VM, Pool
from services.arbiter.decisions import (
    Configured,
    Decision,
    DeclaredDead,
    Fenced,
    GuardOff,
    GuardOn,
    Joined,
    PoolConfig,
    Rejoined,
    RestartOrdered,
    Suspected,
    VmEvacuated,
    VmFailed,
    VmHaltedByGuest,
    VmLost,
    VmRunning,
    VmShutDownByAdmin,
    VmStartFailed,
    VmUnplaceable,
)

VmState = Literal["running", "ordered", "restarting", "unplaceable", "halted", "failed"]

# A best-effort VM is tried once more after it failed (stopped or did not start); then it
# is left `failed`. A protected one has its pool entry's max_restart and max_relocate.
BEST_EFFORT_TRIES = 1
# The exit cause of a VM that could no longer write its disk on its host.
STORAGE_LOST = "storage-lost"


@dataclass(frozen=True, slots=True)
class HostRecord:
    name: str
    capacity_mib: int
    incarnation: str | None = None  # the incarnation that last joined
    suspected: bool = False
    fenced: bool = False  # the incarnation said it fenced (or a later one said so for it)
    dead: bool = False
    # Every incarnation of this host ever declared dead: none of them may join again.
    buried: frozenset[str] = frozenset()
    excluded: bool = False  # in maintenance: receives no VMs
    key: str | None = None  # the public key its slots are signed with (None: not registered)


@dataclass(frozen=True, slots=True)
class VmRecord:
    """A VM: its configuration (`spec`, whose own `host` is ignored) and where it stands.
    `instance` names the running instance (the order it started under; None for a VM the pool
    file placed and no order of ours started); `attempts` counts failed starts in a row.

    `last_host` is where the VM last failed (stopped without an admin shutdown, or did not
    start), None when it is not failing (first start, or lost with its host: the host's
    fault, not the VM's); `restarts` and `relocations` count HA's tries since it started
    failing, in place on `last_host` and elsewhere, against spec.max_restart/max_relocate.
    `storage_lost`: its last failure was its disk lost on `last_host` (`storage-lost`), so
    it gets no try there (the same storage would fail it again) and relocates at once."""

    name: str
    spec: VM
    state: VmState
    host: str | None = None
    incarnation: str | None = None
    order_id: str | None = None
    instance: str | None = None
    attempts: int = 0
    last_host: str | None = None
    restarts: int = 0
    relocations: int = 0
    storage_lost: bool = False

    @property
    def footprint_mib(self) -> int:
        return self.spec.footprint

    @property
    def protected(self) -> bool:
        return self.spec.ha_restart_priority == RESTART

    @property
    def managed(self) -> bool:
        """HA restarts it (schemas.pool.VM.restartable)."""
        return self.spec.restartable

    @property
    def order(self) -> int:
        return self.spec.order

    def may_restart_in_place(self) -> bool:
        """HA may start it again on `last_host` (when that host is healthy)."""
        if self.last_host is None:
            return True
        if self.storage_lost:
            return False
        if self.spec.ha_restart_priority == BEST_EFFORT:
            return self.restarts + self.relocations < BEST_EFFORT_TRIES
        return self.restarts < self.spec.max_restart

    def may_relocate(self) -> bool:
        """HA may start it on another host than `last_host`."""
        if self.last_host is None:
            return True
        if self.spec.ha_restart_priority == BEST_EFFORT:
            return self.restarts + self.relocations < BEST_EFFORT_TRIES
        return self.relocations < self.spec.max_relocate


@dataclass(frozen=True, slots=True)
class LivenessView:
    hosts: Mapping[str, HostRecord]
    vms: Mapping[str, VmRecord]
    orders_issued: int = 0
    ha_enabled: bool = True
    # The guard against mass suspicion holds: no declaration on silence (services.arbiter.guard).
    guarded: bool = False

    @classmethod
    def of_pool(cls, pool: Pool) -> LivenessView:
        """The pool before any decision: nobody joined, VMs where the pool file puts them
        (they belong to whichever incarnation of their host joins first)."""
        hosts = {
            h.name: HostRecord(h.name, h.memory_mib - h.reserved_mib, key=h.key)
            for h in pool.hosts
        }
        vms = {
            v.name: VmRecord(
                v.name, v, state="running" if v.host is not None else "halted", host=v.host
            )
            for v in pool.vms
        }
        return cls(MappingProxyType(hosts), MappingProxyType(vms), ha_enabled=pool.ha.enabled)

    def host_of(self, name: str) -> HostRecord:
        return self.hosts[name]

    def used_mib(self, host: str) -> int:
        return sum(v.footprint_mib for v in self.on(host))

    def on(self, host: str) -> list[VmRecord]:
        """The VMs that take room on `host`: running there or ordered to start there."""
        return [
            v for v in self.vms.values() if v.host == host and v.state in ("running", "ordered")
        ]


def _with_host(
    view: LivenessView, host: HostRecord, vm_changes: Mapping[str, VmRecord] | None = None
) -> LivenessView:
    hosts = dict(view.hosts)
    hosts[host.name] = host
    vms = view.vms
    if vm_changes:
        vms = MappingProxyType({**view.vms, **vm_changes})
    return replace(view, hosts=MappingProxyType(hosts), vms=vms)


def _with_vm(view: LivenessView, vm: VmRecord, issued: int = 0) -> LivenessView:
    vms = dict(view.vms)
    vms[vm.name] = vm
    return replace(view, vms=MappingProxyType(vms), orders_issued=view.orders_issued + issued)


def fold(view: LivenessView, d: Decision) -> LivenessView:
    """The view after decision `d`; a decision naming an unknown host or VM changes nothing."""
    if isinstance(d, Configured):
        return _configured(view, d.config)
    if isinstance(d, (Joined, Suspected, Rejoined, Fenced, DeclaredDead)):
        return _host_decision(view, d)
    if isinstance(d, (GuardOn, GuardOff)):
        return replace(view, guarded=isinstance(d, GuardOn))
    vm = view.vms.get(d.vm)
    if vm is None:
        return view
    if isinstance(d, RestartOrdered):
        ordered = replace(
            _counted(vm, d), state="ordered", host=d.host, incarnation=d.incarnation,
            order_id=d.order_id,
        )  # fmt: skip
        return _with_vm(view, ordered, issued=1)
    if isinstance(d, VmRunning):
        running = replace(
            vm,
            state="running",
            host=d.host,
            incarnation=d.incarnation,
            instance=vm.order_id,
            attempts=0,
        )
        return _with_vm(view, running)
    if isinstance(d, VmStartFailed):
        if (vm.state, vm.host, vm.incarnation) != ("ordered", d.host, d.incarnation):
            return view
        state: VmState = "restarting" if vm.managed else "halted"
        failing = replace(vm, last_host=d.host, storage_lost=False)
        return _with_vm(view, _off(failing, state, attempts=vm.attempts + 1))
    if isinstance(d, VmLost):
        if (vm.state, vm.host) != ("running", d.host):
            return view
        fresh = replace(vm, restarts=0, relocations=0) if d.stable else vm
        lost_disk = d.cause == STORAGE_LOST
        failing = replace(fresh, last_host=d.host, storage_lost=lost_disk)
        return _with_vm(view, _off(failing, "restarting" if vm.managed else "halted"))
    if isinstance(d, VmFailed):
        return _with_vm(view, _off(vm, "failed"))
    if isinstance(d, VmHaltedByGuest):
        return _with_vm(view, _off(vm, "restarting" if vm.managed else "halted"))
    if isinstance(d, VmEvacuated):
        return _with_vm(view, _off(vm, "restarting"))
    if isinstance(d, VmShutDownByAdmin):
        return _with_vm(view, _off(vm, "halted"))
    return _with_vm(view, replace(vm, state="unplaceable", host=None, incarnation=None))


def _counted(vm: VmRecord, d: RestartOrdered) -> VmRecord:
    """An order counts against the VM's limits while it is failing; an operator's start
    (`haplan vm start`, e.g. of a failed VM) clears them."""
    if d.by_operator:
        return replace(vm, last_host=None, restarts=0, relocations=0, storage_lost=False)
    if vm.last_host is None:
        return vm
    if d.host == vm.last_host and vm.may_restart_in_place():
        return replace(vm, restarts=vm.restarts + 1)
    return replace(vm, relocations=vm.relocations + 1)


def _off(vm: VmRecord, state: VmState, attempts: int = 0) -> VmRecord:
    return replace(
        vm,
        state=state,
        host=None,
        incarnation=None,
        order_id=None,
        instance=None,
        attempts=attempts,
    )


def _host_decision(
    view: LivenessView, d: Joined | Suspected | Rejoined | Fenced | DeclaredDead
) -> LivenessView:
    host = view.hosts.get(d.host)
    if host is None:
        return view
    if isinstance(d, Joined):
        first = host.incarnation is None
        joined = HostRecord(
            host.name, host.capacity_mib, d.incarnation, buried=host.buried, key=host.key
        )
        # VMs placed by the pool file belong to the first incarnation that joins.
        claimed = {
            v.name: replace(v, incarnation=d.incarnation)
            for v in view.vms.values()
            if first and v.host == host.name and v.incarnation is None
        }
        return _with_host(view, joined, claimed)
    if isinstance(d, Suspected):
        return _with_host(view, replace(host, suspected=True))
    if isinstance(d, Rejoined):
        return _with_host(view, replace(host, suspected=False))
    if isinstance(d, Fenced):
        return _with_host(view, replace(host, fenced=True))
    return _declared_dead(view, host, d.evidence.incarnation)


def _declared_dead(view: LivenessView, host: HostRecord, incarnation: str) -> LivenessView:
    if host.incarnation != incarnation or host.dead:
        return view
    # Every VM of that incarnation is lost, and every order pending for it is void.
    # Lost with its host: the host's fault, so it does not count against the VM's limits.
    lost = {
        v.name: _off(
            replace(v, last_host=None, storage_lost=False), "restarting" if v.managed else "halted"
        )
        for v in view.vms.values()
        if v.host == host.name
        and v.incarnation in (incarnation, None)
        and v.state in ("running", "ordered")
    }
    buried = host.buried | {incarnation}
    return _with_host(view, replace(host, dead=True, suspected=False, buried=buried), lost)


def _configured(view: LivenessView, config: PoolConfig) -> LivenessView:
    """Hosts and VMs as configured now; what the decisions say about them stays. A host
    removed from the pool that still holds VMs is kept until they are gone."""
    hosts: dict[str, HostRecord] = {}
    for spec in config.hosts:
        old = view.hosts.get(spec.name) or HostRecord(spec.name, 0)
        capacity = spec.memory_mib - spec.reserved_mib
        hosts[spec.name] = replace(
            old, capacity_mib=capacity, excluded=spec.name in config.excluded, key=spec.key
        )
    for name, old in view.hosts.items():
        if name not in hosts and view.on(name):
            hosts[name] = old
    vms: dict[str, VmRecord] = {}
    for vm_spec in config.vms:
        old_vm = view.vms.get(vm_spec.name)
        if old_vm is not None:
            vms[vm_spec.name] = replace(old_vm, spec=vm_spec)
            continue
        where = vm_spec.host
        inc = hosts[where].incarnation if where is not None and where in hosts else None
        state: VmState = "running" if where is not None else "halted"
        vms[vm_spec.name] = VmRecord(vm_spec.name, vm_spec, state, host=where, incarnation=inc)
    return replace(
        view,
        hosts=MappingProxyType(hosts),
        vms=MappingProxyType(vms),
        ha_enabled=config.ha_enabled,
    )


def replay(pool: Pool, decisions: Iterable[Decision]) -> LivenessView:
    view = LivenessView.of_pool(pool)
    for d in decisions:
        view = fold(view, d)
    return view


__all__ = [
    "BEST_EFFORT_TRIES",
    "Configured",
    "Decision",
    "DeclaredDead",
    "Fenced",
    "GuardOff",
    "GuardOn",
    "HostRecord",
    "Joined",
    "LivenessView",
    "PoolConfig",
    "Rejoined",
    "RestartOrdered",
    "Suspected",
    "VmEvacuated",
    "VmFailed",
    "VmHaltedByGuest",
    "VmLost",
    "VmRecord",
    "VmRunning",
    "VmShutDownByAdmin",
    "VmStartFailed",
    "VmState",
    "VmUnplaceable",
    "fold",
    "replay",
]
