"""What `haplan audit report` draws, from the log alone (pure: entries in, a Report out).

The log is folded event by event (services.state.apply, the fold every reader uses) and the
report keeps what changed: for each host, spans of its state (live, joining, suspected,
fenced, dead, maintenance); for each VM, spans of where it stood (on a host, starting on one,
restarting, halted...); the decisions as markers, each with its evidence; and the plan's max
host failures to tolerate over time beside the configured target. Only the VMs that moved
(ran on two hosts or more, the pool file's placement counting, or started more than once)
get a lane, and an explanation (services.audit.explain) for the first `explain_limit`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from schemas.events import (
    Event,
    GuardEngaged,
    GuardReleased,
    HADisabled,
    HAEnabled,
    HostDeclaredDead,
    HostEvent,
    HostFenced,
    HostSuspected,
    LeaderElected,
    NtolSet,
    OvercommitAllowed,
    PlanComputed,
    PlanRestored,
    PoolOvercommitted,
    VMEvent,
    VMStarted,
)
from services.audit.entries import Logged
from services.audit.explain import Explanation, explain
from services.audit.facts import Facts, dead_facts, mark_text, plan_facts, suspect_facts
from services.state import PoolState, apply

# Pool-wide events worth a marker on the pool's own lane.
POOL_MARKS = (LeaderElected, HAEnabled, HADisabled, NtolSet, OvercommitAllowed,
              PoolOvercommitted, PlanRestored, GuardEngaged, GuardReleased)  # fmt: skip
POOL_LANE = "pool"


@dataclass(frozen=True, slots=True)
class Span:
    """`lane` was in `label` from `start` to `end`."""

    lane: str
    label: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Marker:
    """A decision or change on `lane`, with the evidence shown on hover."""

    lane: str
    at: datetime
    seq: int
    type: str
    summary: str
    facts: Facts = ()


@dataclass(frozen=True, slots=True)
class CapacityPoint:
    at: datetime
    max_failures: int | None  # the newest plan's answer (None before any plan)
    configured: int  # host_failures_to_tolerate


@dataclass(frozen=True, slots=True)
class Report:
    pool: str | None
    events: int
    start: datetime | None
    end: datetime | None
    hosts: tuple[str, ...]
    moved: tuple[str, ...]  # the VMs with a lane, in the order they first moved
    spans: tuple[Span, ...]
    markers: tuple[Marker, ...]
    capacity: tuple[CapacityPoint, ...]
    explanations: tuple[Explanation, ...]
    unexplained: int  # moved VMs past explain_limit


def host_lane(host: str) -> str:
    return f"host {host}"


def vm_lane(vm: str) -> str:
    return f"VM {vm}"


def host_label(state: PoolState, host: str) -> str:
    h = state.hosts[host]
    if h.liveness == "live" and h.suspected:
        return "suspected"
    return "maintenance" if h.liveness == "excluded" else h.liveness


def vm_label(state: PoolState, vm: str) -> str:
    v = state.vms[vm]
    if v.power_state == "running" and v.host is not None:
        return f"on {v.host}"
    if v.order is not None:
        return f"starting on {v.order.host}"
    return v.power_state


def facts_of(event: Event) -> Facts:
    if isinstance(event, HostDeclaredDead):
        return dead_facts(event.evidence)
    if isinstance(event, HostSuspected):
        return suspect_facts(event.evidence)
    if isinstance(event, HostFenced):
        return (("mark", mark_text(event.mark)),)
    if isinstance(event, PlanComputed):
        return plan_facts(event)
    return ()


class _Lanes:
    """Open spans by lane, closed when the label changes."""

    def __init__(self) -> None:
        self.open: dict[str, tuple[str, datetime]] = {}
        self.closed: list[Span] = []

    def see(self, lane: str, label: str, at: datetime) -> None:
        current = self.open.get(lane)
        if current is not None and current[0] == label:
            return
        if current is not None:
            self.closed.append(Span(lane, current[0], current[1], at))
        self.open[lane] = (label, at)

    def finish(self, end: datetime) -> list[Span]:
        return self.closed + [Span(lane, label, start, end)
                              for lane, (label, start) in self.open.items()]  # fmt: skip


def build_report(entries: Sequence[Logged], explain_limit: int = 20) -> Report:
    """The report of a whole log, in log order (two passes: the fold, then the explanations
    of the VMs that moved)."""
    state = PoolState()
    lanes = _Lanes()
    markers: list[Marker] = []
    capacity: list[CapacityPoint] = []
    hosts_of: dict[str, set[str]] = {}  # VM -> hosts it ran on
    starts: dict[str, int] = {}
    moved: list[str] = []
    start: datetime | None = None
    at: datetime | None = None
    for entry in entries:
        event = entry.event
        at = event.at if at is None else max(at, event.at)  # stepped clocks: never backwards
        start = at if start is None else start
        before, state = state, apply(state, event)
        for host in state.hosts:
            lanes.see(host_lane(host), host_label(state, host), at)
        for vm in _vms_touched(event, before, state):
            lanes.see(vm_lane(vm), vm_label(state, vm), at)
            runs_on = state.vms[vm].host
            if runs_on is not None:
                hosts_of.setdefault(vm, set()).add(runs_on)
            starts[vm] = starts.get(vm, 0) + isinstance(event, VMStarted)
            if (len(hosts_of.get(vm, ())) > 1 or starts[vm] > 1) and vm not in moved:
                moved.append(vm)
        if isinstance(event, PlanComputed | NtolSet):
            plan = state.plan
            most = plan.max_host_failures_to_tolerate if plan else None
            capacity.append(CapacityPoint(at, most, state.ha.host_failures_to_tolerate))
        lane = _marker_lane(event)
        if lane is not None:
            facts = facts_of(event)
            markers.append(Marker(lane, at, entry.seq, event.type, event.summary(), facts))
    kept = {vm_lane(v) for v in moved}
    every = lanes.finish(at) if at is not None else []
    spans = [s for s in every if not s.lane.startswith("VM ") or s.lane in kept]
    explained = [explain(entries, vm) for vm in moved[:explain_limit]]
    return Report(
        pool=state.name,
        events=len(entries),
        start=start,
        end=at,
        hosts=tuple(state.hosts),
        moved=tuple(moved),
        spans=tuple(spans),
        markers=tuple(m for m in markers if not m.lane.startswith("VM ") or m.lane in kept),
        capacity=tuple(capacity),
        explanations=tuple(x for x in explained if x is not None),
        unexplained=max(len(moved) - explain_limit, 0),
    )


def _vms_touched(event: Event, before: PoolState, after: PoolState) -> Iterable[str]:
    """The VMs whose lane `event` may change: its own, or every VM when it added some (the
    pool's creation places its VMs)."""
    if isinstance(event, VMEvent):
        return (event.vm,) if event.vm in after.vms else ()
    if len(after.vms) != len(before.vms):
        return tuple(after.vms)
    return ()


def _marker_lane(event: Event) -> str | None:
    if isinstance(event, VMEvent):
        return vm_lane(event.vm)
    if isinstance(event, HostEvent):
        return host_lane(event.host)
    if isinstance(event, POOL_MARKS):
        return POOL_LANE
    return None
