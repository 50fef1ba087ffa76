"""What the arbiter's decisions say about the pool: the part of its state a new leader rebuilds
from the log (`replay`). Everything else it knows (lease timings, readings, beacons) is
volatile, which is why a new leader declares nothing for T_dead.

Decisions are the arbiter's appends; the NATS shell turns each into its event of
schemas.events. `fold` is pure: a new view per decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal

from schemas.liveness import DeadEvidence, FencedMark, SuspectEvidence
from schemas.pool import Pool


@dataclass(frozen=True, slots=True)
class Joined:
    host: str
    incarnation: str


@dataclass(frozen=True, slots=True)
class Suspected:
    host: str
    evidence: SuspectEvidence


@dataclass(frozen=True, slots=True)
class Rejoined:
    host: str
    incarnation: str


@dataclass(frozen=True, slots=True)
class Fenced:
    host: str
    mark: FencedMark


@dataclass(frozen=True, slots=True)
class DeclaredDead:
    host: str
    evidence: DeadEvidence


@dataclass(frozen=True, slots=True)
class RestartOrdered:
    vm: str
    host: str
    incarnation: str
    order_id: str


@dataclass(frozen=True, slots=True)
class VmRunning:
    vm: str
    host: str
    incarnation: str


@dataclass(frozen=True, slots=True)
class VmUnplaceable:
    vm: str
    reason: str


Decision = (
    Joined
    | Suspected
    | Rejoined
    | Fenced
    | DeclaredDead
    | RestartOrdered
    | VmRunning
    | VmUnplaceable
)

VmState = Literal["running", "ordered", "restarting", "unplaceable", "halted"]


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


@dataclass(frozen=True, slots=True)
class VmRecord:
    name: str
    footprint_mib: int
    protected: bool
    order: int
    state: VmState
    host: str | None = None
    incarnation: str | None = None
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class LivenessView:
    hosts: Mapping[str, HostRecord]
    vms: Mapping[str, VmRecord]
    orders_issued: int = 0

    @classmethod
    def of_pool(cls, pool: Pool) -> LivenessView:
        """The pool before any decision: nobody joined, VMs where the pool file puts them
        (they belong to whichever incarnation of their host joins first)."""
        hosts = {h.name: HostRecord(h.name, h.memory_mib - h.reserved_mib) for h in pool.hosts}
        vms = {
            v.name: VmRecord(
                v.name,
                v.footprint,
                v.protected,
                v.order,
                state="running" if v.host is not None else "halted",
                host=v.host,
            )
            for v in pool.vms
        }
        return cls(MappingProxyType(hosts), MappingProxyType(vms))

    def host_of(self, name: str) -> HostRecord:
        return self.hosts[name]

    def used_mib(self, host: str) -> int:
        return sum(
            v.footprint_mib
            for v in self.vms.values()
            if v.host == host and v.state in ("running", "ordered")
        )


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
    if isinstance(d, (Joined, Suspected, Rejoined, Fenced, DeclaredDead)):
        host = view.hosts.get(d.host)
        if host is None:
            return view
        if isinstance(d, Joined):
            first = host.incarnation is None
            joined = HostRecord(host.name, host.capacity_mib, d.incarnation, buried=host.buried)
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
    vm = view.vms.get(d.vm)
    if vm is None:
        return view
    if isinstance(d, RestartOrdered):
        ordered = replace(
            vm, state="ordered", host=d.host, incarnation=d.incarnation, order_id=d.order_id
        )
        return _with_vm(view, ordered, issued=1)
    if isinstance(d, VmRunning):
        return _with_vm(view, replace(vm, state="running", host=d.host, incarnation=d.incarnation))
    return _with_vm(view, replace(vm, state="unplaceable", host=None, incarnation=None))


def _declared_dead(view: LivenessView, host: HostRecord, incarnation: str) -> LivenessView:
    if host.incarnation != incarnation or host.dead:
        return view
    # Every VM of that incarnation is lost, and every order pending for it is void.
    lost = {
        v.name: replace(
            v,
            state="restarting" if v.protected else "halted",
            host=None,
            incarnation=None,
            order_id=None,
        )
        for v in view.vms.values()
        if v.host == host.name
        and v.incarnation in (incarnation, None)
        and v.state in ("running", "ordered")
    }
    buried = host.buried | {incarnation}
    return _with_host(view, replace(host, dead=True, suspected=False, buried=buried), lost)


def replay(pool: Pool, decisions: Iterable[Decision]) -> LivenessView:
    view = LivenessView.of_pool(pool)
    for d in decisions:
        view = fold(view, d)
    return view
