"""The guard rail against mass suspicion in the simulator (issue 14; docs/protocol.md).

Three hosts, one protected VM each; two of them go silent to the arbiter at once. The guard
only holds declarations on silence: a host that lost its link still fences on its own, is
declared dead on its own word (its fenced mark, or its next incarnation's join), and its VM
is restarted then. "Before" is the same pool with the guard switched off (share 1.0), which is
exactly the rule before the guard existed.
"""

from __future__ import annotations

import pytest

from schemas.pool import Pool
from services.arbiter.view import GuardOff, GuardOn
from services.common.timers import Timers
from services.sim.faults import Arbiters, Fault, Kind, Schedule
from services.sim.generate import WITNESS, uniform_pool
from tests.sim.helpers import Ran, simulate

T = 30.0
TIMERS = Timers.from_timeout(T)
AT = TIMERS.t_dead_s + 0.37 * TIMERS.interval_s  # after the first leader's warm-up
UNTIL = AT + 2 * TIMERS.t_dead_s
LAYOUTS = [
    pytest.param(Arbiters(("h3",)), id="arbiter on the healthy host"),
    pytest.param(Arbiters((), (WITNESS,)), id="arbiter on a witness"),
]
LOST = ("h1", "h2")


def _pool(share: float) -> Pool:
    pool = uniform_pool(3, T)
    return pool.model_copy(
        update={"ha": pool.ha.model_copy(update={"mass_suspicion_share": share})}
    )


def _run(share: float, arbiters: Arbiters, *faults: Fault) -> Ran:
    heal = UNTIL + TIMERS.t_dead_s
    return simulate(
        Schedule(14, _pool(share), arbiters, faults, heal, heal + 4 * TIMERS.t_dead_s, T)
    )


def _guarded(ran: Ran) -> list[type]:
    return [type(d) for d in ran.sim.log if isinstance(d, GuardOn | GuardOff)]


def _rules(ran: Ran, host: str) -> list[str]:
    return [d.evidence.rule for d in ran.declared(host)]


@pytest.mark.parametrize("arbiters", LAYOUTS)
def test_two_hosts_cut_from_bus_and_store_fence_and_wait_for_their_own_word(
    arbiters: Arbiters,
) -> None:
    """h1 and h2 lose bus and store at once (they cannot write their fenced marks). Before,
    the arbiter declared both dead on silence (timeout). With the guard it engages, declares
    neither on silence; both still fence (they lost their link), are declared dead on their
    own word once they come back (their next incarnation's join), and their VMs run again on
    a single host each: no split brain, no invariant broken."""
    cut = (Fault(Kind.BUS_LINK, AT, UNTIL, LOST), Fault(Kind.STORE_LINK, AT, UNTIL, LOST))
    before = _run(1.0, arbiters, *cut)
    assert before.outcome.ok, before.outcome.violations
    assert _rules(before, "h1") == _rules(before, "h2") == ["timeout"]
    ran = _run(0.5, arbiters, *cut)
    assert ran.outcome.ok, ran.outcome.violations
    assert _guarded(ran) == [GuardOn, GuardOff]
    [on] = [d for d in ran.sim.log if isinstance(d, GuardOn)]
    assert {r.host for r in on.evidence.recent} == set(LOST) and on.evidence.members == 3
    assert ran.fenced_hosts(before=UNTIL) == set(LOST)  # the guard does not stop self-fencing
    for host in LOST:
        assert _rules(ran, host) == ["fenced"], ran.outcome.trace
    for vm in ("vm1", "vm2", "vm3"):
        assert len(ran.running_on(vm)) == 1, vm


@pytest.mark.parametrize("arbiters", LAYOUTS)
def test_two_hosts_cut_from_the_bus_fence_and_are_declared_on_their_marks(
    arbiters: Arbiters,
) -> None:
    """h1 and h2 lose the bus only: they fence, mark their slots, and the arbiter declares
    them on those marks (the guard never holds a host's own word); their VMs restart on h3."""
    ran = _run(0.5, arbiters, Fault(Kind.BUS_LINK, AT, UNTIL, LOST))
    assert ran.outcome.ok, ran.outcome.violations
    assert ran.fenced_hosts(before=UNTIL) == set(LOST)
    assert _rules(ran, "h1") == _rules(ran, "h2") == ["fenced"]
    assert ran.running_on("vm1") == ran.running_on("vm2") == {"h3"}


@pytest.mark.parametrize("arbiters", LAYOUTS)
def test_the_arbiters_own_input_broken_fences_nobody(arbiters: Arbiters) -> None:
    """The arbiter's lease watch misses h1's and h2's renewals (a stalled consumer) while
    every host loses the store: h1 and h2 are healthy and hold their leases. Before, the
    arbiter declared them dead on silence (the store-outage path: its own reads fail too) and
    restarted their VMs on h3 while they still ran them: a split brain. With the guard nothing
    is declared, nobody fences, no VM stops, and the guard releases on its own when the watch
    delivers again."""
    faults = (
        Fault(Kind.LEASE_WATCH, AT, UNTIL, LOST),
        Fault(Kind.STORE_LINK, AT, UNTIL, ("h1", "h2", "h3")),
    )
    before = _run(1.0, arbiters, *faults)
    # Both h1's and h2's VMs restarted while they run (the leader's own reads fail too: every
    # host lost the store), or one of them.
    assert {v.invariant for v in before.outcome.violations} == {1}
    ran = _run(0.5, arbiters, *faults)
    assert ran.outcome.ok, ran.outcome.violations
    assert _guarded(ran) == [GuardOn, GuardOff]
    assert ran.sim.log and not ran.declared("h1") and not ran.declared("h2")
    assert ran.fenced_hosts(before=ran.outcome.schedule.end_at) == set()
    for n in (1, 2, 3):
        assert ran.sim.checker.up_at[f"vm{n}"] == 0.0  # it never stopped
        assert ran.running_on(f"vm{n}") == {f"h{n}"}
