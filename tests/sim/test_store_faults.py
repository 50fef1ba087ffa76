"""A read-only store and a stalled store (services.sim.store), on three hosts each running one
protected VM, the arbiter on a witness.

A read-only store takes reads and fails writes: the host's slot freezes while it goes on
reading the others' slots. A stalled store answers each call `amount` seconds late: the shell's
call misses its deadline, and the write stuck in the store lands later, after the collector
may have fenced (and its incarnation been declared dead).
"""

from __future__ import annotations

from typing import ClassVar

from services.collector.core import Collector
from services.collector.table import Facts
from services.common.timers import Timers
from services.sim.engine import Sim
from services.sim.faults import Arbiters, Fault, Kind, Schedule
from services.sim.generate import WITNESS, uniform_pool
from tests.sim.helpers import Ran

T = 30.0
TIMERS = Timers.from_timeout(T)
POOL = uniform_pool(3, T)
HOSTS = ("h1", "h2", "h3")
AT = TIMERS.t_dead_s + 0.37 * TIMERS.interval_s  # after the first leader's warm-up
STALL_S = 2 * T  # every store call of a stalled host takes this long


class NoStoreProof(Collector):
    """The collector, noting each host that evaluated its table without a store proof: the
    fault took effect, so a host that stayed did so by the table's peers-lost-store row."""

    seen: ClassVar[set[str]] = set()

    def facts(self, now: float) -> Facts:
        facts = super().facts(now)
        if not facts.store_ok:
            NoStoreProof.seen.add(self.host)
        return facts


def _run(*faults: Fault) -> Ran:
    heal = AT + 4 * T
    schedule = Schedule(
        14, POOL, Arbiters((), (WITNESS,)), faults, heal, heal + 4 * TIMERS.t_dead_s, T
    )
    NoStoreProof.seen = set()
    sim = Sim(schedule, collector=NoStoreProof)
    return Ran(sim, sim.run())


def _nobody_moved(ran: Ran) -> None:
    assert ran.outcome.ok, ran.outcome.violations
    assert ran.fenced_hosts(before=ran.outcome.schedule.end_at) == set()
    for n, host in enumerate(HOSTS, 1):
        assert ran.declared(host) == []
        assert ran.sim.checker.up_at[f"vm{n}"] == 0.0, f"vm{n} was restarted"  # never stopped
        assert ran.running_on(f"vm{n}") == {host}


def _times(ran: Ran, kind: str, host: str) -> list[float]:
    """When the milestones `kind` about `host` happened (simulated seconds)."""
    return [t for t, k, s in ran.outcome.milestones if k == kind and s == host]


def test_a_read_only_store_for_every_host_fences_nobody() -> None:
    """The store turns read-only for every host for 2 T: every slot freezes, while every
    host goes on reading them all (so the arbiter's fresh readings show each slot still for
    far longer than T_dead). Every host loses its store proof, every peer reports the same,
    and every lease lives: nobody fences, nobody is declared dead, no VM stops."""
    ran = _run(Fault(Kind.STORE_READ_ONLY, AT, AT + 2 * T, HOSTS))
    assert NoStoreProof.seen == set(HOSTS)
    _nobody_moved(ran)


def test_a_read_only_store_on_one_host_fences_it_and_restarts_its_vm() -> None:
    """h1's store turns read-only for 2 T: its slot freezes while h2 and h3 report theirs
    written, so h1 fences (it is the host with the problem); it is declared dead and vm1
    restarts on a survivor. h2 and h3 are not fenced and their VMs never stop."""
    ran = _run(Fault(Kind.STORE_READ_ONLY, AT, AT + 2 * T, ("h1",)))
    assert ran.outcome.ok, ran.outcome.violations
    assert ran.fenced_hosts(before=AT + 2 * T) == {"h1"}
    assert ran.declared("h1")
    assert ran.running_on("vm1") & {"h2", "h3"}
    for vm, host in (("vm2", "h2"), ("vm3", "h3")):
        assert ran.sim.checker.up_at[vm] == 0.0, f"{vm} was restarted"
        assert ran.running_on(vm) == {host}


def test_a_store_stalled_for_every_host_fences_nobody() -> None:
    """Every store call of every host takes 2 T for 2 T: no call meets its deadline, so no
    host has a store proof, and each host's stuck write lands 2 T late. Every peer reports
    the store lost and every lease lives: nobody fences, nobody is declared dead."""
    ran = _run(Fault(Kind.STORE_DELAY, AT, AT + 2 * T, HOSTS, STALL_S))
    assert NoStoreProof.seen == set(HOSTS)
    for host in HOSTS:
        landed = _times(ran, "late_write", host)
        assert landed and min(landed) >= AT + STALL_S, f"{host}'s stuck write: {landed}"
    _nobody_moved(ran)


def test_a_write_stuck_in_a_stalled_store_lands_after_its_host_was_declared_dead() -> None:
    """h1's store stalls (each call takes 2 T): h1 fences (its peers still write) and is
    declared dead. h2 and h3 lose the bus two intervals before
    h1's stuck write lands, after h1's incarnation was declared dead. The late slot
    advances, so h1 is not a host gone (still for T_dead) to h2 and h3: neither rides this
    out as an outage of every host (a collector that always does never fences here). Each
    fences before it is declared dead, and no VM runs twice."""
    bus_lost_at = AT + STALL_S - 2 * TIMERS.interval_s
    ran = _run(
        Fault(Kind.STORE_DELAY, AT, AT + 3 * T, ("h1",), STALL_S),
        Fault(Kind.BUS_LINK, bus_lost_at, AT + 3 * T, ("h2", "h3")),
    )
    assert ran.outcome.ok, ran.outcome.violations
    declared, landed = _times(ran, "dead", "h1"), _times(ran, "late_write", "h1")
    assert declared and landed, f"h1 declared dead at {declared}, its write landed at {landed}"
    assert declared[0] < bus_lost_at < landed[0]
    for host in ("h2", "h3"):
        fenced, dead = ran.first("fence", host), ran.first("dead", host)
        assert fenced is not None and dead is not None, f"{host}: fenced {fenced}, dead {dead}"
        assert fenced < dead
