"""Fold handlers of the arbiter's liveness decisions, its elections and recorded plans."""

from __future__ import annotations

from types import MappingProxyType

from schemas.events import (
    GuardEngaged,
    GuardReleased,
    HostDeclaredDead,
    HostFenced,
    HostRejoined,
    HostSuspected,
    LeaderElected,
    PlanComputed,
    PlanRestored,
    PoolOvercommitted,
)
from services.state.evolve import (
    advance,
    lose_host,
    skip,
    with_host,
)
from services.state.model import (
    GuardState,
    PlanSummary,
    PoolState,
)


def host_suspected(state: PoolState, e: HostSuspected) -> PoolState:
    host = state.hosts.get(e.host)
    if host is None or host.liveness != "live":
        return skip(state)
    return with_host(state, host._replace(suspected=True))


def host_rejoined(state: PoolState, e: HostRejoined) -> PoolState:
    host = state.hosts.get(e.host)
    # Only a live (suspected) host rejoins; a fenced or dead one comes back by joining anew.
    if host is None or host.liveness != "live":
        return skip(state)
    return with_host(state, host._replace(suspected=False, incarnation=e.incarnation))


def host_fenced(state: PoolState, e: HostFenced) -> PoolState:
    host = state.hosts.get(e.host)
    if host is None:
        return skip(state)
    return with_host(state, host._replace(liveness="fenced", suspected=False))


def host_declared_dead(state: PoolState, e: HostDeclaredDead) -> PoolState:
    host = state.hosts.get(e.host)
    if host is None:
        return skip(state)
    hosts = state.hosts.copy()
    hosts[e.host] = host._replace(liveness="dead", suspected=False)
    vms = state.vms.copy()
    lose_host(vms, e.host, failed=True)
    return advance(state, hosts=MappingProxyType(hosts), vms=MappingProxyType(vms))


def guard_engaged(state: PoolState, e: GuardEngaged) -> PoolState:
    if not state.exists:
        return skip(state)
    hosts = tuple(r.host for r in e.evidence.recent)
    guard = GuardState(hosts, e.evidence.members, e.evidence.share, e.at)
    return advance(state, guard=guard)


def guard_released(state: PoolState, e: GuardReleased) -> PoolState:
    return advance(state, guard=None) if state.exists else skip(state)


def plan_computed(state: PoolState, e: PlanComputed) -> PoolState:
    if not state.exists:
        return skip(state)
    plan = PlanSummary(
        event_id=e.event_id,
        based_on_seq=e.based_on_seq,
        max_host_failures_to_tolerate=e.max_host_failures_to_tolerate,
        upper_bound=e.upper_bound,
        exact=e.exact,
        worst_failure_set=e.worst_failure_set,
    )
    return advance(state, plan=plan)


def pool_overcommitted(state: PoolState, e: PoolOvercommitted) -> PoolState:
    return advance(state, overcommitted=True) if state.exists else skip(state)


def plan_restored(state: PoolState, e: PlanRestored) -> PoolState:
    return advance(state, overcommitted=False) if state.exists else skip(state)


def leader_elected(state: PoolState, e: LeaderElected) -> PoolState:
    # A change of leader changes nothing the pool is made of: the event is the log's fence
    # against the previous leader's appends, and the audit trail of who decided from when.
    return advance(state) if state.exists else skip(state)
