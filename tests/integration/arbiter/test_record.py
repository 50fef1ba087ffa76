"""Decisions <-> events (services.arbiter.record), both directions. Pure, no bus: it lives
with the arbiter service's tests because the service is its only user."""

from __future__ import annotations

import uuid

from schemas.events import Event, LeaderElected, PoolCreated, VMRestartOrdered, VMStarted
from schemas.liveness import (
    FencedMark,
    GuardEvidence,
    GuardReleaseEvidence,
    RecentSuspicion,
    SuspectEvidence,
)
from schemas.messages import FencedNotice, JoinRequest, NetworkHeartbeat
from services.arbiter import Arbiter, replay
from services.arbiter.record import decisions_of, to_decision, to_event
from services.arbiter.view import (
    Decision,
    DeclaredDead,
    Fenced,
    GuardOff,
    GuardOn,
    Joined,
    Rejoined,
    RestartOrdered,
    Suspected,
    VmRunning,
    VmUnplaceable,
)
from tests.fixtures.events import T0, dead_evidence, make
from tests.integration.arbiter.players import TIMERS, Slot, lab_pool_created, signed_record


def stamp(d: Decision, epoch: int = 7, instance: str | None = None) -> Event:
    return to_event(d, epoch=epoch, at=T0, event_id=str(uuid.uuid4()), instance=instance)


def test_every_kind_of_decision_comes_back_from_its_event() -> None:
    """Each kind of decision maps to its event, stamped with the leader's epoch, and the event
    maps back to the very same decision."""
    decisions: list[Decision] = [
        Joined("lab1", "i-1"),
        Suspected("lab1", SuspectEvidence(incarnation="i-1", lease_silent_for_s=2.5,
                                          timeout_s=2.0)),
        Rejoined("lab1", "i-1"),
        Fenced("lab1", FencedMark(source="slot", observer="lab2", incarnation="i-1")),
        DeclaredDead("lab1", dead_evidence("i-1")),
        GuardOn(GuardEvidence(recent=(RecentSuspicion(host="lab1", suspected_for_s=0.5),
                                      RecentSuspicion(host="lab2", suspected_for_s=1.0)),
                              members=2, share=0.5, timeout_s=2.0)),
        GuardOff(GuardReleaseEvidence(suspects=("lab2",), members=2, share=0.5)),
        RestartOrdered("Minion 1", "lab2", "i-7", "order-3"),
        VmRunning("Minion 1", "lab2", "i-7"),
        VmUnplaceable("Minion 1", "the liveset is empty"),
    ]  # fmt: skip
    for d in decisions:
        event = to_event(d, epoch=7, at=T0, event_id=str(uuid.uuid4()), instance="order-3")
        assert event.epoch == 7 and event.at == T0
        assert to_decision(event) == d, event.type


def test_events_that_are_no_decision_map_to_none() -> None:
    """Configuration, elections and starts that cite another plan are not first-fit orders:
    the pool and the election give no decision; an order citing another plan keeps its event
    id as order id."""
    assert to_decision(lab_pool_created()) is None
    assert to_decision(make(LeaderElected, epoch=3, arbiter="a")) is None
    other = make(VMRestartOrdered, vm="Minion 1", host="lab2", incarnation="i-7", plan="p-9")
    assert to_decision(other) == RestartOrdered("Minion 1", "lab2", "i-7", other.event_id)


def test_a_start_names_the_order_it_ran_as_its_instance() -> None:
    """VMStarted.instance is the order the VM was started under (heartbeats carry no
    instance ids)."""
    event = stamp(VmRunning("Minion 1", "lab2", "i-7"), instance="order-1")
    assert isinstance(event, VMStarted) and event.instance == "order-1"


def test_a_new_leader_rebuilds_exactly_the_view_the_old_one_decided() -> None:
    """A run of the real core (join, fence, declared dead, restart, running), recorded as
    events and mapped back, replays to the very view the core holds."""
    created = lab_pool_created()
    assert isinstance(created, PoolCreated)
    pool = created.pool
    core = Arbiter("a1", pool, TIMERS)
    core.gain_leadership(0.0, 5, [])
    decided: list[Decision] = []
    beacon = core.tick(0.0).beacon
    for host in ("lab1", "lab2"):
        own = signed_record(host, Slot(f"{host}-i", 1, False))
        core.join_request(
            JoinRequest(host=host, incarnation=f"{host}-i", beacon=beacon, record=own), 0.1
        )
    now = 0.2
    while now < TIMERS.t_dead_s + 0.5:
        for host in ("lab1", "lab2"):
            core.lease_renewed(host, f"{host}-i", now)
        decided += core.tick(now).decisions
        now += TIMERS.interval_s
    core.fenced_notice(FencedNotice(host="lab1", incarnation="lab1-i"), now)
    decided += core.tick(now).decisions
    core.heartbeat(NetworkHeartbeat(host="lab2", incarnation="lab2-i", seq=1, lease_ok=True,
                                    store_ok=True, vms=("Minion 1",)), now)  # fmt: skip
    decided += core.tick(now + TIMERS.interval_s).decisions

    kinds = [type(d) for d in decided]
    assert kinds == [Joined, Joined, Fenced, DeclaredDead, RestartOrdered, VmRunning]
    events = [stamp(d) for d in decided]
    assert decisions_of(events) == decided
    assert replay(pool, decisions_of(events)) == core.view
