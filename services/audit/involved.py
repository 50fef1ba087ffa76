"""Which hosts and VMs an event names: the subject columns of a timeline and its filters."""

from __future__ import annotations

from typing import NamedTuple

from schemas.events import (
    EventBase,
    HostAdded,
    HostEvent,
    PlanComputed,
    PoolCreated,
    VMCreated,
    VMEvent,
)


class Involved(NamedTuple):
    hosts: tuple[str, ...]
    vms: tuple[str, ...]


NOBODY = Involved((), ())


def involved(event: EventBase) -> Involved:
    """The hosts and VMs `event` names, in the order it names them.

    A VM event that says where (ordered to, started on, halted on a host) names that host
    too; a pool creation names everything it creates; a plan names its worst failure set.
    """
    if isinstance(event, VMEvent):
        host = getattr(event, "host", None)
        return Involved((host,) if isinstance(host, str) else (), (event.vm,))
    if isinstance(event, HostEvent):
        return Involved((event.host,), ())
    if isinstance(event, VMCreated):
        spec = event.spec
        return Involved((spec.host,) if spec.host else (), (spec.name,))
    if isinstance(event, HostAdded):
        return Involved((event.spec.name,), ())
    if isinstance(event, PoolCreated):
        return Involved(event.pool.host_names, tuple(v.name for v in event.pool.vms))
    if isinstance(event, PlanComputed) and event.worst_failure_set:
        return Involved(event.worst_failure_set, ())
    return NOBODY
