"""Logs written by the real arbiter core: the deterministic simulator's decision logs turned
into the events the arbiter's NATS shell will append (one event per decision, in order)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from schemas.events import (
    Event,
    HostDeclaredDead,
    HostFenced,
    HostJoined,
    HostRejoined,
    HostSuspected,
    PoolCreated,
    VMRestartOrdered,
    VMStarted,
    VMUnplaceable,
)
from schemas.pool import Pool
from services.arbiter import (
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
from services.audit import Entry
from services.sim.engine import Sim
from services.sim.faults import Schedule
from tests.fixtures.events import T0


def as_event(seq: int, d: Decision) -> Event:
    env = {"event_id": str(uuid.uuid4()), "at": T0 + timedelta(seconds=seq), "epoch": 1}
    if isinstance(d, Joined):
        return HostJoined(**env, host=d.host, incarnation=d.incarnation)
    if isinstance(d, Suspected):
        return HostSuspected(**env, host=d.host, evidence=d.evidence)
    if isinstance(d, Rejoined):
        return HostRejoined(**env, host=d.host, incarnation=d.incarnation)
    if isinstance(d, Fenced):
        return HostFenced(**env, host=d.host, mark=d.mark)
    if isinstance(d, DeclaredDead):
        return HostDeclaredDead(**env, host=d.host, evidence=d.evidence)
    if isinstance(d, RestartOrdered):
        return VMRestartOrdered(**env, vm=d.vm, host=d.host, incarnation=d.incarnation,
                                plan=d.order_id)  # fmt: skip
    if isinstance(d, VmRunning):
        return VMStarted(**env, vm=d.vm, host=d.host, incarnation=d.incarnation,
                         instance=f"i-{seq}")  # fmt: skip
    assert isinstance(d, VmUnplaceable)
    return VMUnplaceable(**env, vm=d.vm, reason=d.reason)


def as_log(pool: Pool, decisions: Sequence[Decision]) -> list[Entry]:
    """The pool's creation, then each decision as its event."""
    created = PoolCreated(event_id=str(uuid.uuid4()), at=T0, epoch=0, pool=pool)
    return [Entry(1, created)] + [Entry(i + 2, as_event(i + 2, d)) for i, d in enumerate(decisions)]


def simulated_log(schedule: Schedule) -> list[Entry]:
    """The log the arbiter core decided in a simulated run of `schedule`."""
    sim = Sim(schedule, trace=False)
    sim.run()
    return as_log(schedule.pool, sim.log)
