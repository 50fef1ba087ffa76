"""The event catalogue: one discriminated union on `type`."""

from __future__ import annotations

from typing import Annotated, get_args

from pydantic import Field, TypeAdapter

from schemas.events.base import EventBase
from schemas.events.config import (
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
from schemas.events.leadership import LeaderElected
from schemas.events.liveness import (
    GuardEngaged,
    GuardReleased,
    HostDeclaredDead,
    HostFenced,
    HostRejoined,
    HostSuspected,
)
from schemas.events.plans import PlanComputed, PlanRestored, PoolOvercommitted
from schemas.events.vm import (
    VMEvacuated,
    VMFailed,
    VMHaltedByGuest,
    VMLost,
    VMRestartOrdered,
    VMShutDownByAdmin,
    VMStarted,
    VMStartFailed,
    VMUnplaceable,
)

Event = Annotated[
    PoolCreated
    | HostAdded
    | HostKeyTrusted
    | HostRemoved
    | HostJoined
    | HostExcluded
    | VMCreated
    | VMProtectionSet
    | NtolSet
    | OvercommitAllowed
    | HAEnabled
    | HADisabled
    | HostSuspected
    | HostRejoined
    | HostFenced
    | HostDeclaredDead
    | GuardEngaged
    | GuardReleased
    | PlanComputed
    | PoolOvercommitted
    | PlanRestored
    | VMRestartOrdered
    | VMUnplaceable
    | VMStarted
    | VMStartFailed
    | VMHaltedByGuest
    | VMShutDownByAdmin
    | VMEvacuated
    | VMLost
    | VMFailed
    | LeaderElected,
    Field(discriminator="type"),
]

EVENT_TYPES: tuple[type[EventBase], ...] = get_args(get_args(Event)[0])

# One adapter for the whole union: pydantic-core picks the class from `type` in one pass over
# the JSON bytes, which is what keeps replay fast.
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def _field_default(cls: type[EventBase], name: str) -> object:
    return cls.model_fields[name].default


EVENT_CLASSES: dict[str, type[EventBase]] = {
    str(_field_default(cls, "type")): cls for cls in EVENT_TYPES
}
CURRENT_VERSIONS: dict[str, int] = {
    str(_field_default(cls, "type")): int(str(_field_default(cls, "schema_version")))
    for cls in EVENT_TYPES
}
