"""The arbiter's decisions as events of the log, and back (pure: the shell stamps the envelope).

Every decision of the core (services.arbiter.view) is recorded as one event of
schemas.events, and a new leader rebuilds the core's view from the log by mapping the events
back (`decisions_of`), so the two mappings must be exact inverses on what the core decides.

Two fields have no slot of their own in the events:
- a restart order's id travels in `VMRestartOrdered.plan` as `restart-plan:<order id>`: the
  placement is the planner's restart plan for the VMs waiting at that moment, which the order
  cites (logs of an earlier version say `first-fit:<order id>`); an order citing anything else
  gets the event's id as its order id.
- a start's `instance` is the order it executed: heartbeats name the VMs a host runs, not
  their instances.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from schemas.events import (
    Event,
    GuardEngaged,
    GuardReleased,
    HADisabled,
    HAEnabled,
    HostAdded,
    HostDeclaredDead,
    HostExcluded,
    HostFenced,
    HostJoined,
    HostKeyTrusted,
    HostRejoined,
    HostRemoved,
    HostSuspected,
    PoolCreated,
    VMCreated,
    VMEvacuated,
    VMFailed,
    VMHaltedByGuest,
    VMLost,
    VMProtectionSet,
    VMRestartOrdered,
    VMShutDownByAdmin,
    VMStarted,
    VMStartFailed,
    VMUnplaceable,
)
from services.arbiter.view import (
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
from services.state import PoolState

RESTART_PLAN = "restart-plan:"
OPERATOR_START = "operator-start:"  # `haplan vm start`: no restart plan, the operator's call
FIRST_FIT = "first-fit:"  # orders of logs written before the planner placed restarts
UNKNOWN_INSTANCE = "unknown"


def order_plan(order_id: str, by_operator: bool = False) -> str:
    return (OPERATOR_START if by_operator else RESTART_PLAN) + order_id


def to_event(
    d: Decision, *, epoch: int, at: datetime, event_id: str, instance: str | None = None
) -> Event:
    """The event that records `d`, stamped with the leader's epoch. `instance` names the
    instance of a VmRunning (the order it started under)."""
    env: dict[str, Any] = {"epoch": epoch, "at": at, "event_id": event_id}
    if isinstance(d, Joined):
        return HostJoined(host=d.host, incarnation=d.incarnation, record=d.record, **env)
    if isinstance(d, Suspected):
        return HostSuspected(host=d.host, evidence=d.evidence, **env)
    if isinstance(d, Rejoined):
        return HostRejoined(host=d.host, incarnation=d.incarnation, **env)
    if isinstance(d, Fenced):
        return HostFenced(host=d.host, mark=d.mark, **env)
    if isinstance(d, DeclaredDead):
        return HostDeclaredDead(host=d.host, evidence=d.evidence, **env)
    if isinstance(d, GuardOn):
        return GuardEngaged(evidence=d.evidence, **env)
    if isinstance(d, GuardOff):
        return GuardReleased(evidence=d.evidence, **env)
    if isinstance(d, RestartOrdered):
        return VMRestartOrdered(
            vm=d.vm,
            host=d.host,
            incarnation=d.incarnation,
            plan=order_plan(d.order_id, d.by_operator),
            **env,
        )
    if isinstance(d, VmRunning):
        return VMStarted(
            vm=d.vm,
            host=d.host,
            incarnation=d.incarnation,
            instance=instance or UNKNOWN_INSTANCE,
            **env,
        )
    if isinstance(d, VmUnplaceable):
        return VMUnplaceable(vm=d.vm, reason=d.reason, **env)
    if isinstance(d, VmStartFailed):
        return VMStartFailed(
            vm=d.vm, host=d.host, incarnation=d.incarnation, reason=d.reason, **env
        )
    if isinstance(d, VmHaltedByGuest):
        return VMHaltedByGuest(vm=d.vm, host=d.host, **env)
    if isinstance(d, VmLost):
        return VMLost(vm=d.vm, host=d.host, incarnation=d.incarnation, cause=d.cause,
                      stable=d.stable, **env)  # fmt: skip
    if isinstance(d, VmFailed):
        return VMFailed(vm=d.vm, reason=d.reason, **env)
    if isinstance(d, VmShutDownByAdmin):
        return VMShutDownByAdmin(vm=d.vm, **env)
    if isinstance(d, VmEvacuated):
        return VMEvacuated(vm=d.vm, host=d.host, **env)
    raise TypeError(f"{type(d).__name__} is folded in from the log, never recorded")


def to_decision(event: Event) -> Decision | None:
    """The decision `event` records; None for events that are not the arbiter's decisions
    (configuration, plans, operator actions, elections)."""
    if isinstance(event, HostJoined):
        return Joined(event.host, event.incarnation, event.record)
    if isinstance(event, HostSuspected):
        return Suspected(event.host, event.evidence)
    if isinstance(event, HostRejoined):
        return Rejoined(event.host, event.incarnation)
    if isinstance(event, HostFenced):
        return Fenced(event.host, event.mark)
    if isinstance(event, HostDeclaredDead):
        return DeclaredDead(event.host, event.evidence)
    if isinstance(event, GuardEngaged):
        return GuardOn(event.evidence)
    if isinstance(event, GuardReleased):
        return GuardOff(event.evidence)
    if isinstance(event, VMRestartOrdered):
        order_id = event.event_id
        for prefix in (RESTART_PLAN, FIRST_FIT, OPERATOR_START):
            if event.plan.startswith(prefix):
                order_id = event.plan.removeprefix(prefix)
        by_operator = event.plan.startswith(OPERATOR_START)
        return RestartOrdered(event.vm, event.host, event.incarnation, order_id, by_operator)
    if isinstance(event, VMStarted):
        return VmRunning(event.vm, event.host, event.incarnation)
    if isinstance(event, VMUnplaceable):
        return VmUnplaceable(event.vm, event.reason)
    if isinstance(event, VMStartFailed):
        return VmStartFailed(event.vm, event.host, event.incarnation, event.reason)
    if isinstance(event, VMHaltedByGuest):
        return VmHaltedByGuest(event.vm, event.host)
    if isinstance(event, VMLost):
        return VmLost(event.vm, event.host, event.incarnation, event.cause, event.stable)
    if isinstance(event, VMFailed):
        return VmFailed(event.vm, event.reason)
    if isinstance(event, VMShutDownByAdmin):
        return VmShutDownByAdmin(event.vm)
    if isinstance(event, VMEvacuated):
        return VmEvacuated(event.vm, event.host)
    return None


CONFIG_EVENTS = (
    PoolCreated,
    HostAdded,
    HostRemoved,
    HostKeyTrusted,
    HostExcluded,
    VMCreated,
    VMProtectionSet,
    HAEnabled,
    HADisabled,
)


def config_of(state: PoolState) -> PoolConfig:
    """What the arbiter folds in from the log's configuration (services.state)."""
    return PoolConfig(
        hosts=tuple(h.spec for h in state.hosts.values()),
        excluded=frozenset(n for n, h in state.hosts.items() if h.liveness == "excluded"),
        vms=tuple(v.spec for v in state.vms.values()),
        ha_enabled=state.ha.enabled,
    )


def decisions_of(events: Iterable[Event]) -> list[Decision]:
    """The decisions a log records, in log order: what a new leader replays."""
    return [d for d in map(to_decision, events) if d is not None]
