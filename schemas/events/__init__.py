"""The event log's contract: every event haplan records, as immutable pydantic models.

One discriminated union (`Event`, on `type`); every event carries the envelope of
`EventBase` (event_id, type, schema_version, at, epoch). Old stored versions are upcast on
read (`upcasting`); `codec` turns events into bytes and back.
"""

from schemas.events.base import EventBase, HostEvent, VMEvent
from schemas.events.codec import EventDecodeError, decode_event, encode_event
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
from schemas.events.union import (
    CURRENT_VERSIONS,
    EVENT_ADAPTER,
    EVENT_CLASSES,
    EVENT_TYPES,
    Event,
)
from schemas.events.upcasting import UPCASTERS, UpcastError, upcast, upcaster
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

__all__ = [
    "CURRENT_VERSIONS",
    "EVENT_ADAPTER",
    "EVENT_CLASSES",
    "EVENT_TYPES",
    "UPCASTERS",
    "Event",
    "EventBase",
    "EventDecodeError",
    "GuardEngaged",
    "GuardReleased",
    "HADisabled",
    "HAEnabled",
    "HostAdded",
    "HostDeclaredDead",
    "HostEvent",
    "HostExcluded",
    "HostFenced",
    "HostJoined",
    "HostKeyTrusted",
    "HostRejoined",
    "HostRemoved",
    "HostSuspected",
    "LeaderElected",
    "NtolSet",
    "OvercommitAllowed",
    "PlanComputed",
    "PlanRestored",
    "PoolCreated",
    "PoolOvercommitted",
    "UpcastError",
    "VMCreated",
    "VMEvacuated",
    "VMEvent",
    "VMFailed",
    "VMHaltedByGuest",
    "VMLost",
    "VMProtectionSet",
    "VMRestartOrdered",
    "VMShutDownByAdmin",
    "VMStartFailed",
    "VMStarted",
    "VMUnplaceable",
    "decode_event",
    "encode_event",
    "upcast",
    "upcaster",
]
