"""The end of a global bus outage fences nobody whose renewal lands an interval late (issue 14).

Two hosts each run one protected VM. The bus quorum is lost for 1.5 T (a NATS Raft election
stall longer than T): nobody renews, every lease proof lapses, and both hosts stay by the
outage rule. When the quorum comes back, one host renews at its next tick and its slot
advertises the lease again; the other host's bus comes back one interval later (its client
reconnecting, its Raft group electing last), so at its next tick its own lease is still
stale while it reads the first host's fresh one. Before the grace (docs/protocol.md, The end
of an outage) THE TABLE's row (lease lost, store ok) fenced it: the outage was over for it and
a peer held the bus. Its slot never stopped advancing, so no arbiter could have declared it
dead: the fence stopped its VM for nothing.
"""

from __future__ import annotations

import pytest

from services.common.timers import Timers
from services.sim.faults import Arbiters, Fault, Kind, Schedule
from services.sim.generate import WITNESS, uniform_pool
from tests.sim.helpers import Ran, simulate

T = 30.0
TIMERS = Timers.from_timeout(T)
INTERVAL = TIMERS.interval_s
POOL = uniform_pool(2, T)
OUTAGE_AT = 2 * TIMERS.t_dead_s + 0.37 * INTERVAL  # after the first leader's warm-up, in calm
OUTAGE_END = OUTAGE_AT + 1.5 * T  # longer than T: every lease proof lapses
LAYOUTS = [
    pytest.param(Arbiters(("h1", "h2")), id="arbiters on the hosts"),
    pytest.param(Arbiters((), (WITNESS,)), id="arbiter on a witness"),
]


def _run(arbiters: Arbiters, late: str, back_after: float | None) -> Ran:
    """The quorum lost for 1.5 T; `late`'s link to the bus comes back `back_after` seconds
    after the quorum (None: only at the final heal)."""
    late_end = None if back_after is None else OUTAGE_END + back_after
    faults = (
        Fault(Kind.QUORUM, OUTAGE_AT, OUTAGE_END),
        Fault(Kind.BUS_LINK, OUTAGE_AT, late_end, (late,)),
    )
    heal = OUTAGE_END + 2 * TIMERS.t_dead_s
    return simulate(Schedule(14, POOL, arbiters, faults, heal, heal + 4 * TIMERS.t_dead_s, T))


@pytest.mark.parametrize("late", ["h1", "h2"])
@pytest.mark.parametrize("arbiters", LAYOUTS)
def test_a_renewal_an_interval_late_after_a_long_outage_fences_nobody(
    arbiters: Arbiters, late: str
) -> None:
    """`late` gets the bus back one interval after the quorum returns (whichever host it is:
    with either phase of the two hosts' ticks one of them reads the other's fresh lease while
    its own is stale). Nobody fences, nobody is declared dead, both VMs never stop."""
    ran = _run(arbiters, late, back_after=INTERVAL)
    assert ran.outcome.ok, ran.outcome.violations
    assert ran.fenced_hosts(before=ran.outcome.schedule.end_at) == set(), "\n".join(
        line for line in ran.outcome.trace if "fences" in line
    )
    assert not ran.declared(late)
    for vm, host in (("vm1", "h1"), ("vm2", "h2")):
        assert ran.sim.checker.up_at[vm] == 0.0, f"{vm} was restarted"  # it never stopped
        assert ran.running_on(vm) == {host}


@pytest.mark.parametrize("arbiters", LAYOUTS)
def test_a_host_whose_bus_does_not_come_back_still_fences(arbiters: Arbiters) -> None:
    """The grace is bounded: after the same outage h1's bus stays cut while h2 renews. h1
    fences within a few intervals of the quorum's return (its lease stale, h2 advertising
    its own), and its VM is restarted on h2, which an unbounded grace would never allow."""
    ran = _run(arbiters, "h1", back_after=None)
    assert ran.outcome.ok, ran.outcome.violations
    fences = [t for t, k, s in ran.outcome.milestones if k == "fence" and s == "h1"]
    assert fences, "h1 never fenced"
    assert OUTAGE_END < fences[0] < OUTAGE_END + 4 * INTERVAL
    assert ran.fenced_hosts(before=ran.outcome.schedule.end_at) == {"h1"}
    assert ran.running_on("vm1") == {"h2"}
