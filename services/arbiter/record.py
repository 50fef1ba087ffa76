"""The arbiter's decisions as events of the log, and back (pure: the shell stamps the envelope).

Every decision of the core (services.arbiter.view) is recorded as one event of
schemas.events, and a new leader rebuilds the core's view from the log by mapping the events
back (`decisions_of`), so the two mappings must be exact inverses on what the core decides.

Two fields have no slot of their own in the events:
- a restart order's id travels in `VMRestartOrdered.plan` as `first-fit:<order id>`: the
  placement comes from the core's first-fit rule, not from a recorded plan (the CP-SAT
  orchestrator will cite its PlanComputed there instead); an order citing anything else gets
  the event's id as its order id.
- a start's `instance` is the order it executed: heartbeats name the VMs a host runs, not
  their instances.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from schemas.events import (
    Event,
    HostDeclaredDead,
    HostFenced,
    HostJoined,
    HostRejoined,
    HostSuspected,
    VMRestartOrdered,
    VMStarted,
    VMUnplaceable,
)
from services.arbiter.view import (
    Decision,
    DeclaredDead,
    Fenced,
    Joined,
    Rejoined,
    RestartOrdered,
    Suspected,
    VmRunning,
    VmUnplaceable,
)

FIRST_FIT = "first-fit:"
UNKNOWN_INSTANCE = "unknown"


def order_plan(order_id: str) -> str:
    return FIRST_FIT + order_id


def to_event(
    d: Decision, *, epoch: int, at: datetime, event_id: str, instance: str | None = None
) -> Event:
    """The event that records `d`, stamped with the leader's epoch. `instance` names the
    instance of a VmRunning (the order it started under)."""
    env: dict[str, Any] = {"epoch": epoch, "at": at, "event_id": event_id}
    if isinstance(d, Joined):
        return HostJoined(host=d.host, incarnation=d.incarnation, **env)
    if isinstance(d, Suspected):
        return HostSuspected(host=d.host, evidence=d.evidence, **env)
    if isinstance(d, Rejoined):
        return HostRejoined(host=d.host, incarnation=d.incarnation, **env)
    if isinstance(d, Fenced):
        return HostFenced(host=d.host, mark=d.mark, **env)
    if isinstance(d, DeclaredDead):
        return HostDeclaredDead(host=d.host, evidence=d.evidence, **env)
    if isinstance(d, RestartOrdered):
        return VMRestartOrdered(
            vm=d.vm, host=d.host, incarnation=d.incarnation, plan=order_plan(d.order_id), **env
        )
    if isinstance(d, VmRunning):
        return VMStarted(
            vm=d.vm,
            host=d.host,
            incarnation=d.incarnation,
            instance=instance or UNKNOWN_INSTANCE,
            **env,
        )
    return VMUnplaceable(vm=d.vm, reason=d.reason, **env)


def to_decision(event: Event) -> Decision | None:
    """The decision `event` records; None for events that are not the arbiter's decisions
    (configuration, plans, operator actions, elections)."""
    if isinstance(event, HostJoined):
        return Joined(event.host, event.incarnation)
    if isinstance(event, HostSuspected):
        return Suspected(event.host, event.evidence)
    if isinstance(event, HostRejoined):
        return Rejoined(event.host, event.incarnation)
    if isinstance(event, HostFenced):
        return Fenced(event.host, event.mark)
    if isinstance(event, HostDeclaredDead):
        return DeclaredDead(event.host, event.evidence)
    if isinstance(event, VMRestartOrdered):
        order_id = event.plan.removeprefix(FIRST_FIT)
        if order_id == event.plan:
            order_id = event.event_id
        return RestartOrdered(event.vm, event.host, event.incarnation, order_id)
    if isinstance(event, VMStarted):
        return VmRunning(event.vm, event.host, event.incarnation)
    if isinstance(event, VMUnplaceable):
        return VmUnplaceable(event.vm, event.reason)
    return None


def decisions_of(events: Iterable[Event]) -> list[Decision]:
    """The decisions a log records, in log order: what a new leader replays."""
    return [d for d in map(to_decision, events) if d is not None]
