"""The pure fold of the event log: `apply(state, event) -> state`.

No IO, no clock: the same events always give the same state. Every event type has exactly
one handler (a test checks the table against the union). An event the state cannot take
(unknown host or VM, impossible order) is counted in `ignored` and otherwise skipped: the
log is the truth, and one odd event must never stop a replay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from schemas.events import (
    Event,
    EventBase,
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
    LeaderElected,
    NtolSet,
    OvercommitAllowed,
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
    VMStartFailed,
    VMUnplaceable,
)
from services.state.config_handlers import (
    ha_disabled,
    ha_enabled,
    host_added,
    host_excluded,
    host_joined,
    host_key_trusted,
    host_removed,
    ntol_set,
    overcommit_allowed,
    pool_created,
    vm_created,
    vm_protection_set,
)
from services.state.decision_handlers import (
    guard_engaged,
    guard_released,
    host_declared_dead,
    host_fenced,
    host_rejoined,
    host_suspected,
    leader_elected,
    plan_computed,
    plan_restored,
    pool_overcommitted,
)
from services.state.lifecycle_handlers import (
    vm_evacuated,
    vm_failed,
    vm_halted_by_guest,
    vm_lost,
    vm_restart_ordered,
    vm_shut_down_by_admin,
    vm_start_failed,
    vm_started,
    vm_unplaceable,
)
from services.state.model import PoolState

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


HANDLERS: dict[type[EventBase], Handler] = {
    PoolCreated: pool_created,
    HostAdded: host_added,
    HostRemoved: host_removed,
    HostKeyTrusted: host_key_trusted,
    HostJoined: host_joined,
    HostExcluded: host_excluded,
    VMCreated: vm_created,
    VMProtectionSet: vm_protection_set,
    NtolSet: ntol_set,
    OvercommitAllowed: overcommit_allowed,
    HAEnabled: ha_enabled,
    HADisabled: ha_disabled,
    HostSuspected: host_suspected,
    HostRejoined: host_rejoined,
    HostFenced: host_fenced,
    HostDeclaredDead: host_declared_dead,
    GuardEngaged: guard_engaged,
    GuardReleased: guard_released,
    PlanComputed: plan_computed,
    PoolOvercommitted: pool_overcommitted,
    PlanRestored: plan_restored,
    VMRestartOrdered: vm_restart_ordered,
    VMUnplaceable: vm_unplaceable,
    VMStarted: vm_started,
    VMStartFailed: vm_start_failed,
    VMHaltedByGuest: vm_halted_by_guest,
    VMLost: vm_lost,
    VMFailed: vm_failed,
    VMShutDownByAdmin: vm_shut_down_by_admin,
    VMEvacuated: vm_evacuated,
    LeaderElected: leader_elected,
}
