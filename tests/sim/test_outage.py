"""The outage rules count only the hosts that can still act (issue 14, item 1).

Three hosts, each running one protected VM; one host goes away first (powered off and
declared dead, or shut down in maintenance), then every survivor loses the bus (or the store)
for 2 T. No arbiter can restart anything meanwhile, so fencing helps no one: nobody fences and
the survivors' VMs never stop. The same outage with every host up fences nobody either.
"""

from __future__ import annotations

import pytest

from schemas.pool import VM, HAConfig, Host, Pool
from services.common.timers import Timers
from services.sim.faults import Arbiters, Fault, Kind, Schedule
from services.sim.generate import WITNESS, uniform_pool
from services.sim.hostile import fixed_signer
from tests.sim.helpers import Ran, simulate

T = 30.0
TIMERS = Timers.from_timeout(T)
POOL = uniform_pool(3, T)
GONE_AT = TIMERS.t_dead_s + 0.37 * TIMERS.interval_s  # after the first leader's warm-up
OUTAGE_AT = GONE_AT + 2 * TIMERS.t_dead_s  # h3 has long been declared dead
OUTAGE_END = OUTAGE_AT + 2 * T
LAYOUTS = [
    pytest.param(Arbiters(("h1", "h2", "h3")), id="arbiters on the hosts"),
    pytest.param(Arbiters((), (WITNESS,)), id="arbiter on a witness"),
]
OUTAGES = [
    pytest.param(Fault(Kind.BUS_LINK, OUTAGE_AT, OUTAGE_END, ("h1", "h2", WITNESS)), id="links"),
    pytest.param(Fault(Kind.QUORUM, OUTAGE_AT, OUTAGE_END), id="quorum"),
]


def _schedule(
    pool: Pool, arbiters: Arbiters, faults: tuple[Fault, ...], maintenance: tuple[str, ...] = ()
) -> Schedule:
    heal = OUTAGE_END + TIMERS.t_dead_s
    return Schedule(
        14, pool, arbiters, faults, heal, heal + 4 * TIMERS.t_dead_s, T, maintenance=maintenance
    )


def _survivors_never_stopped(ran: Ran) -> None:
    assert ran.outcome.ok, ran.outcome.violations
    assert ran.fenced_hosts(before=ran.outcome.schedule.end_at) == set()
    for vm, host in (("vm1", "h1"), ("vm2", "h2")):
        assert ran.sim.checker.up_at[vm] == 0.0, f"{vm} was restarted"  # it never stopped
        assert ran.running_on(vm) == {host}


@pytest.mark.parametrize("outage", OUTAGES)
@pytest.mark.parametrize("arbiters", LAYOUTS)
def test_a_bus_outage_after_a_host_died_fences_no_survivor(
    outage: Fault, arbiters: Arbiters
) -> None:
    """h3 loses power and is declared dead (its VM restarts on a survivor); later the bus is
    lost everywhere for 2 T. h3's frozen slot (still for T_dead, last saying lease_ok) must
    not block the outage rule: h1 and h2 stay, and their VMs never stop."""
    ran = simulate(_schedule(POOL, arbiters, (Fault(Kind.POWER, GONE_AT, None, ("h3",)), outage)))
    _survivors_never_stopped(ran)  # on the old rule: invariant 3, fenced in a global outage
    assert ran.declared("h3"), "h3 was never declared dead"
    assert ran.running_on("vm3") & {"h1", "h2"}


@pytest.mark.parametrize("arbiters", LAYOUTS)
def test_a_store_outage_after_a_host_died_fences_no_survivor(arbiters: Arbiters) -> None:
    """h3 loses power and is declared dead; later the store is lost by h1 and h2 for 2 T:
    every peer still heard on the bus has lost the store too, so nobody fences."""
    store = Fault(Kind.STORE_LINK, OUTAGE_AT, OUTAGE_END, ("h1", "h2"))
    ran = simulate(_schedule(POOL, arbiters, (Fault(Kind.POWER, GONE_AT, None, ("h3",)), store)))
    _survivors_never_stopped(ran)
    assert ran.declared("h3")


MAINTAINED = Pool(name="3 hosts, h3 evacuated", ha=POOL.ha, hosts=POOL.hosts, vms=POOL.vms[:2])


@pytest.mark.parametrize("powered_off", [True, False], ids=["shut down", "left running"])
@pytest.mark.parametrize("outage", OUTAGES)
def test_a_bus_outage_with_a_host_in_maintenance_fences_nobody(
    powered_off: bool, outage: Fault
) -> None:
    """h3 is in maintenance (excluded, no VMs) and is shut down, or left running; then the
    bus is lost everywhere for 2 T. Nobody fences, whether h3's slot froze or still advances."""
    if powered_off:
        faults = (Fault(Kind.POWER, GONE_AT, None, ("h3",)), outage)
    else:  # h3 runs on: the outage must reach it too to be an outage of every host
        faults = (Fault(outage.kind, outage.start, outage.end, (*outage.targets, "h3")),)
    ran = simulate(_schedule(MAINTAINED, Arbiters(("h1", "h2")), faults, maintenance=("h3",)))
    _survivors_never_stopped(ran)


def test_a_maintenance_schedule_keeps_the_hosts_keys() -> None:
    """The operator's maintenance config the simulator logs at the start carries the hosts'
    keys: folded, it replaces the pool's hosts, and a config without keys left every host
    unregistered (key None), so the signed-slot path went untested in maintenance runs."""
    ran = simulate(_schedule(MAINTAINED, Arbiters(("h1", "h2")), (), maintenance=("h3",)))
    leader = ran.sim._leader()
    assert leader is not None
    keys = {name: h.key for name, h in leader.core.view.hosts.items()}
    assert keys == {h: fixed_signer(h).public for h in ("h1", "h2", "h3")}
    assert leader.core.view.hosts["h3"].excluded


@pytest.mark.parametrize("outage", OUTAGES)
def test_a_bus_outage_with_every_host_up_still_fences_nobody(outage: Fault) -> None:
    """The rule change keeps the all-up case: the bus lost everywhere for 2 T fences nobody."""
    everyone = Fault(outage.kind, outage.start, outage.end, ("h1", "h2", "h3", WITNESS))
    ran = simulate(_schedule(POOL, Arbiters(("h1", "h2", "h3")), (everyone,)))
    _survivors_never_stopped(ran)
    assert ran.running_on("vm3") == {"h3"}


def test_a_survivor_that_lost_the_bus_alone_still_fences() -> None:
    """The rule does not keep a host that is the problem: after h3 died, h1 alone loses the
    bus while h2 keeps it; h2's advancing slot advertises its lease, so h1 fences and its VM
    is restarted on h2."""
    faults = (
        Fault(Kind.POWER, GONE_AT, None, ("h3",)),
        Fault(Kind.BUS_LINK, OUTAGE_AT, OUTAGE_END, ("h1",)),
    )
    ran = simulate(_schedule(POOL, Arbiters(("h2", "h1")), faults))
    assert ran.outcome.ok, ran.outcome.violations
    assert ran.fenced_hosts(before=OUTAGE_END) == {"h1"}
    assert ran.running_on("vm1") == {"h2"}


# Random schedule 4831 of the 10,000-schedule run, written out (its times rounded to the ms).
POOL_4831 = Pool(
    name="random pool 3",
    ha=HAConfig(host_failures_to_tolerate=0, timeout_s=T),
    hosts=tuple(
        Host(name=n, memory_mib=m, reserved_mib=1024)
        for n, m in (("h1", 16384), ("h2", 16384), ("h3", 32768))
    ),
    vms=tuple(
        VM(name=n, memory_mib=m, memory_overhead_mib=64, host=h, ha_restart_priority="restart")
        for n, m, h in (
            ("vm1", 4096, "h1"),
            ("vm2", 1024, "h2"),
            ("vm3", 1024, "h2"),
            ("vm4", 8192, "h3"),
            ("vm5", 1024, "h3"),
        )
    ),
)
FAULTS_4831 = (
    Fault(Kind.STORE_LINK, 3.642, 68.313, ("h2",)),
    Fault(Kind.STORE_LINK, 8.381, None, ("h1", "h2")),
    Fault(Kind.BUS_LINK, 31.044, 112.551, ("h2", "h3", WITNESS)),
    Fault(Kind.ARBITER_CRASH, 74.5, None, ("arbiter@h2",)),
)


def test_a_host_heard_alive_after_its_slot_froze_is_not_taken_for_dead() -> None:
    """Guards the collector's `_alive_since` (a still slot whose host was heard on the bus
    since is not a gone host). h1 and h2 lose the store, then h2 and h3 the bus. h1 lives on
    without the store (it fences, and its next incarnation holds a lease it cannot prove in
    the store), so h3 must not take h1's frozen slot for a dead host and stay: the arbiter's
    store-outage path, counting h1's report, declares h3 dead, and h3 must have fenced (its
    VMs stopped) by then. Without the guard h3 was declared dead while running vm4 and vm5."""
    arbiters = Arbiters(("h2", "h1", "h3"), (WITNESS,))
    ran = simulate(Schedule(4831, POOL_4831, arbiters, FAULTS_4831, 126.0, 294.0, T))
    assert ran.outcome.ok, ran.outcome.violations
    assert ran.declared("h3"), "h3 was never declared dead"
    first_dead = min(t for t, k, s in ran.outcome.milestones if k == "dead" and s == "h3")
    assert "h3" in ran.fenced_hosts(before=first_dead), "declared dead while it ran its VMs"
    assert ran.running_on("vm4") == ran.running_on("vm5") == {"h3"}  # restarted in place
