"""Logs written by the real arbiter core: the deterministic simulator's decision logs turned
into the events the arbiter's NATS shell will append (one event per decision, in order)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from schemas.events import Event, PoolCreated
from schemas.pool import Pool
from services.arbiter import Decision
from services.arbiter.record import to_event
from services.audit import Entry
from services.sim.engine import Sim
from services.sim.faults import Schedule
from tests.fixtures.events import T0


def as_event(seq: int, d: Decision) -> Event:
    """The event the arbiter's shell appends for `d` (its own mapping, services.arbiter.record)."""
    return to_event(
        d, epoch=1, at=T0 + timedelta(seconds=seq), event_id=str(uuid.uuid4()),
        instance=f"i-{seq}",
    )


def as_log(pool: Pool, decisions: Sequence[Decision]) -> list[Entry]:
    """The pool's creation, then each decision as its event."""
    created = PoolCreated(event_id=str(uuid.uuid4()), at=T0, epoch=0, pool=pool)
    return [Entry(1, created)] + [Entry(i + 2, as_event(i + 2, d)) for i, d in enumerate(decisions)]


def simulated_log(schedule: Schedule) -> list[Entry]:
    """The log the arbiter core decided in a simulated run of `schedule`."""
    sim = Sim(schedule, trace=False)
    sim.run()
    return as_log(sim.keyed_pool, sim.log)  # the pool the arbiters ran with: hosts' keys too
