"""The article's three experiments and the known XenServer complaints, in the simulated lab pool
(lab1 and lab2, Minion 1 protected on lab1, T = 30 s, the leader on lab2)."""

from __future__ import annotations

import pytest

from services.common.timers import Timers
from services.sim.faults import Arbiters, Kind
from services.sim.generate import WITNESS, lab_pool, single_fault
from tests.sim.helpers import simulate

POOL = lab_pool(30.0)
TIMERS = Timers.from_timeout(30.0)
LEADER_ON_LAB2 = Arbiters(("lab2", "lab1"))
MINION = "Minion 1"


def test_power_pulled_lab1_is_declared_dead_after_T_dead_and_minion_restarts_on_lab2() -> None:
    """Pull lab1's power: nothing fences (it is off), the leader declares lab1 dead by timeout
    once T_dead has passed since it last saw lab1's lease renewed and lab1's slot advance (on
    its own reading of the store: both at most an interval before the pull), and Minion 1
    runs on lab2."""
    ran = simulate(single_fault(POOL, Kind.POWER, ("lab1",), arbiters=LEADER_ON_LAB2))
    assert ran.outcome.ok, ran.outcome.violations
    dead_after = ran.first("dead", "lab1")
    assert dead_after is not None and dead_after >= TIMERS.t_dead_s - TIMERS.interval_s
    evidence = ran.declared("lab1")[0].evidence
    assert evidence.rule == "timeout" and evidence.lease_silent_for_s >= TIMERS.t_dead_s
    own = evidence.own_store
    assert own is not None and own.slot is not None
    assert own.slot.still_for_s >= TIMERS.t_dead_s
    assert ran.first("ordered", MINION) == dead_after
    assert ran.running_on(MINION) == {"lab2"}


def test_storage_pulled_lab1_fences_is_declared_dead_at_once_and_minion_moves() -> None:
    """Pull lab1's storage: lab1 fences because lab2 still sees the store, it says so on the
    bus, and the leader declares it dead from that mark (fast path), well before T_dead."""
    ran = simulate(single_fault(POOL, Kind.STORE_LINK, ("lab1",), arbiters=LEADER_ON_LAB2))
    assert ran.outcome.ok, ran.outcome.violations
    fenced_after, dead_after = ran.first("fence", "lab1"), ran.first("dead", "lab1")
    assert fenced_after is not None and dead_after is not None
    assert fenced_after <= TIMERS.timeout_s + TIMERS.interval_s
    assert dead_after - fenced_after <= 2 * TIMERS.interval_s < TIMERS.t_dead_s
    [dead] = ran.declared("lab1")
    assert dead.evidence.rule == "fenced"
    assert dead.evidence.fenced_mark is not None and dead.evidence.fenced_mark.source == "bus"
    assert any("heartbeat store is lost" in line for line in ran.outcome.trace)
    assert ran.running_on(MINION) == {"lab2"}


def test_network_pulled_lab1_fences_and_is_declared_dead_from_its_fenced_slot() -> None:
    """Pull lab1's network: lab1 fences because lab2 holds the quorum, writes `fenced` in its
    slot, and the leader declares it dead from the slot mark that lab2 read."""
    ran = simulate(single_fault(POOL, Kind.BUS_LINK, ("lab1",), arbiters=LEADER_ON_LAB2))
    assert ran.outcome.ok, ran.outcome.violations
    assert ran.first("fence", "lab1") is not None
    [dead] = ran.declared("lab1")
    assert dead.evidence.rule == "fenced"
    mark = dead.evidence.fenced_mark
    assert mark is not None and (mark.source, mark.observer) == ("slot", "lab2")
    assert ran.running_on(MINION) == {"lab2"}
    assert "lab2" not in ran.fenced_hosts(before=ran.sim.s.heal_at)


@pytest.mark.parametrize("lost", ["lab1", "lab2"])
def test_in_a_two_host_pool_the_host_that_lost_its_link_is_the_one_fenced(lost: str) -> None:
    """XenServer fences whichever host sorts first; here the host without the link fences and
    the healthy one never does, both ways round."""
    healthy = "lab2" if lost == "lab1" else "lab1"
    ran = simulate(single_fault(POOL, Kind.BUS_LINK, (lost,), arbiters=Arbiters(("lab1", "lab2"))))
    assert ran.outcome.ok, ran.outcome.violations
    assert ran.fenced_hosts(before=ran.sim.s.heal_at) == {lost}
    assert ran.running_on(MINION) == {healthy if lost == "lab1" else "lab1"}


NETWORK_OUTAGES = [
    pytest.param(Kind.BUS_LINK, ("lab1", "lab2"), id="every link down"),
    pytest.param(Kind.QUORUM, (), id="quorum lost"),
]
LAYOUTS = [
    pytest.param(Arbiters(("lab1", "lab2")), id="arbiters on the hosts"),
    pytest.param(Arbiters((), (WITNESS,)), id="arbiter on a witness"),
]


@pytest.mark.parametrize(("kind", "targets"), NETWORK_OUTAGES)
@pytest.mark.parametrize("arbiters", LAYOUTS)
def test_a_network_outage_of_every_host_fences_nobody(
    kind: Kind, targets: tuple[str, ...], arbiters: Arbiters
) -> None:
    """With the bus lost everywhere no arbiter can restart anything, so nobody fences and
    Minion 1 keeps running on lab1 the whole time."""
    ran = simulate(single_fault(POOL, kind, targets, arbiters=arbiters))
    assert ran.outcome.ok, ran.outcome.violations
    assert ran.fenced_hosts(before=ran.outcome.schedule.end_at) == set()
    assert ran.sim.checker.up_at[MINION] == 0.0  # never restarted: it never stopped
    assert ran.running_on(MINION) == {"lab1"}


@pytest.mark.parametrize("arbiters", LAYOUTS)
def test_a_storage_outage_of_every_host_fences_nobody(arbiters: Arbiters) -> None:
    """With the store lost everywhere fencing would help no one: nobody fences."""
    ran = simulate(single_fault(POOL, Kind.STORE_LINK, ("lab1", "lab2"), arbiters=arbiters))
    assert ran.outcome.ok, ran.outcome.violations
    assert ran.fenced_hosts(before=ran.outcome.schedule.end_at) == set()
    assert ran.running_on(MINION) == {"lab1"}
