"""Recording plans in the log (docs/operations.md, "Recording plans"). Pure: no IO, no clock.

- `relevant(event)`: whether an event can change the capacity picture: the pool the planner
  plans (`services.state.plan_pool`: hosts, VMs where they run, their protection, ntol) or
  whether HA is on (which decides the overcommitment alarm).
- `PlanView`: the log as a planner replica has folded it, and whether it owes the log a plan
  (`due`: a relevant event came after the latest recorded plan's base).
- `plan_events`: the events that record a computed plan, with the alarm its result raises or
  ends.

Liveness decisions that only make a host unable to receive VMs for a while (suspected,
rejoined) are not relevant: the projection plans on every host of the pool, and a lease that
flaps must not churn plans. Joins, exclusions and fencing are: they are how a host enters or
leaves the pool's service, and a projection that plans on live hosts only would need them.
`overcommit_allowed` changes what the arbiter admits, not what the pool tolerates. Plans,
alarms, elections, failed starts and unplaceable VMs change nothing the planner reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

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
    HostRemoved,
    NtolSet,
    PlanComputed,
    PlanRestored,
    PoolCreated,
    PoolOvercommitted,
    VMCreated,
    VMEvacuated,
    VMFailed,
    VMHaltedByGuest,
    VMLost,
    VMProtectionSet,
    VMRestartOrdered,
    VMShutDownByAdmin,
    VMStarted,
)
from schemas.pool import Pool
from schemas.pool_file import PoolError
from services.planner.results import FailureCapacity
from services.state import PoolState, apply, plan_pool

RELEVANT: frozenset[type[EventBase]] = frozenset(
    {
        # what the pool is made of, and its HA settings
        PoolCreated, HostAdded, HostRemoved, VMCreated, VMProtectionSet, NtolSet,
        HAEnabled, HADisabled,
        # hosts entering or leaving service (a dead host's VMs stop running on it)
        HostJoined, HostExcluded, HostFenced, HostDeclaredDead,
        # VMs starting, stopping or moving (an order to start a VM where the pool file
        # placed it means it is not running there yet)
        VMStarted, VMHaltedByGuest, VMShutDownByAdmin, VMEvacuated, VMRestartOrdered,
        VMLost, VMFailed,
    }
)  # fmt: skip


def relevant(event: Event) -> bool:
    """Whether `event` can change the capacity picture (see the module's docstring)."""
    return type(event) in RELEVANT


class PlanView:
    """A replica's reading of the log: the folded state, where it is, the newest epoch
    written (plans are stamped with it: the arbiter takes a higher epoch for a newer leader,
    so a planner never invents one) and the last event that changed the capacity picture."""

    def __init__(self) -> None:
        self.state = PoolState()
        self.last_seq = 0
        self.last_relevant_seq = 0
        self.newest_epoch = 0
        self._live: tuple[PoolState, Pool | PoolError] | None = None

    def apply(self, seq: int, event: Event) -> None:
        before = self.state
        self.state = apply(before, event)
        # An event the fold ignored (unknown host or VM) changed nothing.
        if relevant(event) and self.state.ignored == before.ignored:
            self.last_relevant_seq = max(self.last_relevant_seq, seq)
        self.newest_epoch = max(self.newest_epoch, event.epoch)
        self.last_seq = max(self.last_seq, seq)

    def skip_to(self, seq: int) -> None:
        """Messages up to `seq` exist but none is readable: they changed nothing we know."""
        self.last_seq = max(self.last_seq, seq)

    @property
    def due(self) -> bool:
        """The log holds a pool whose capacity picture changed after its latest plan's base."""
        if not self.state.exists:
            return False
        planned = self.state.plan.based_on_seq if self.state.plan is not None else 0
        return self.last_relevant_seq > planned

    def live(self) -> Pool | PoolError:
        """The pool as the log describes it now, or why there is none (kept per state)."""
        if self._live is None or self._live[0] is not self.state:
            try:
                found: Pool | PoolError = plan_pool(self.state)
            except PoolError as exc:
                found = exc
            self._live = (self.state, found)
        return self._live[1]


class Stamp(NamedTuple):
    """The envelope of a recorded plan: wall time, the newest epoch in the log, fresh ids."""

    at: datetime
    epoch: int
    plan_id: str
    alarm_id: str


def plan_events(
    state: PoolState, capacity: FailureCapacity, based_on_seq: int, stamp: Stamp
) -> list[Event]:
    """`plan_computed` for `capacity` (computed on `plan_pool(state)`, `state` being the log as
    of `based_on_seq`), then the alarm it changes:

    - `pool_overcommitted` when HA is enabled, the plan tolerates fewer failures than ntol
      and the pool was not already overcommitted (a pool with HA off promises nothing, so
      it raises no alarm; enabling HA then raises it);
    - `plan_restored` when the pool was overcommitted and the plan meets ntol again, whether
      or not HA is on (the alarm ends only with a plan that ends it: disabling HA leaves an
      overcommitted pool overcommitted).
    """
    ntol = state.ha.host_failures_to_tolerate
    tolerated = capacity.max_host_failures_to_tolerate
    plan = PlanComputed(
        event_id=stamp.plan_id,
        at=stamp.at,
        epoch=stamp.epoch,
        based_on_seq=based_on_seq,
        max_host_failures_to_tolerate=tolerated,
        upper_bound=capacity.upper_bound,
        exact=capacity.exact,
        worst_failure_set=capacity.worst_failure_set,
        host_failures_to_tolerate=ntol,
    )
    events: list[Event] = [plan]
    alarm = {"event_id": stamp.alarm_id, "at": stamp.at, "epoch": stamp.epoch,
             "plan": plan.event_id, "max_host_failures_to_tolerate": tolerated,
             "host_failures_to_tolerate": ntol}  # fmt: skip
    if tolerated < ntol and state.ha.enabled and not state.overcommitted:
        events.append(PoolOvercommitted(**alarm))
    elif tolerated >= ntol and state.overcommitted:
        events.append(PlanRestored(**alarm))
    return events
