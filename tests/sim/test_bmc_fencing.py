"""Power fencing through the hosts' BMCs in the simulator (docs/protocol.md, Power fencing
through the BMC): a suspected host whose slot stood still for T is powered off by the leader
through its fencing chain, and a confirmed power-off (a status read said "off") declares it
dead at once; a chain that times out or answers "on" changes nothing (the timeout path, T_dead,
goes on); a host the BMC powered off is dead for real, its VMs with it, and comes back only
when the operator powers it on, as a new incarnation."""

from __future__ import annotations

import dataclasses

from schemas.fencing import FencingAgent
from schemas.liveness import DeadEvidence
from schemas.pool import Pool
from services.arbiter.rules import DEAD_RULES, DeadRule
from services.arbiter.view import DeclaredDead, Joined
from services.common.timers import Timers
from services.sim.batch import run_schedules
from services.sim.engine import Outcome, Sim
from services.sim.faults import Arbiters, Fault, Kind, Schedule
from services.sim.generate import lab_pool
from services.sim.shrink import shrink
from tests.sim.helpers import Ran, sim_workers, simulate

T = 30.0
TIMERS = Timers.from_timeout(T)
START = TIMERS.t_dead_s + 0.37 * TIMERS.interval_s
REDFISH = FencingAgent(kind="redfish", address="https://bmc-lab1.mgmt", credential="env:BMC")
IPMI = FencingAgent(kind="ipmi", address="bmc-lab1-ipmi.mgmt", credential="file:/etc/bmc")


def fenced_lab(*chain: FencingAgent) -> Pool:
    """The article's lab pool, lab1 with the fencing chain `chain`."""
    pool = lab_pool(T)
    hosts = tuple(
        h.model_copy(update={"fencing": chain}) if h.name == "lab1" else h for h in pool.hosts
    )
    return pool.model_copy(update={"hosts": hosts})


def schedule(pool: Pool, *faults: Fault, seed: int = 5) -> Schedule:
    """`faults` after the first leader's warm-up; the arbiter on a witness (it survives lab1)."""
    return Schedule(
        seed, pool, Arbiters((), ("witness",)), faults,
        heal_at=3 * TIMERS.t_dead_s, end_at=7 * TIMERS.t_dead_s, timeout_s=T,
    )  # fmt: skip


def power_pull(pool: Pool, *bmc: Fault) -> Ran:
    ran = simulate(schedule(pool, Fault(Kind.POWER, START, None, ("lab1",)), *bmc))
    assert ran.outcome.ok, [v.describe() for v in ran.outcome.violations]
    return ran


def declared(ran: Ran) -> tuple[DeadEvidence, float]:
    decls = ran.declared("lab1")
    assert len(decls) == 1
    after = ran.first("dead", "lab1")
    assert after is not None
    return decls[0].evidence, after


def test_a_power_pull_with_a_bmc_is_declared_on_its_confirmation_before_t_dead() -> None:
    """lab1 loses power: the leader powers it off through its BMC once it is suspected and
    its slot stood still for T, and declares it dead on the confirmation (rule power_off,
    the BMC's answer in the evidence), before T_dead; Minion 1 runs on lab2 earlier than
    without a chain, where the timeout path declares it after T_dead."""
    with_bmc = power_pull(fenced_lab(REDFISH))
    evidence, dead_after = declared(with_bmc)
    assert evidence.rule == "power_off" and evidence.power_off is not None
    assert evidence.power_off.power_state == "off" and evidence.power_off.level == 1
    assert evidence.power_off.agent == "redfish https://bmc-lab1.mgmt"
    assert evidence.power_off.incarnation == evidence.incarnation == "lab1#1"
    assert dead_after < TIMERS.t_dead_s
    without = power_pull(lab_pool(T))
    old, old_after = declared(without)
    assert old.rule == "timeout" and old_after >= TIMERS.t_dead_s
    up, old_up = with_bmc.first("up", "Minion 1"), without.first("up", "Minion 1")
    assert up is not None and old_up is not None and up < old_up
    assert with_bmc.running_on("Minion 1") == {"lab2"}


def test_an_unreachable_bmc_leaves_the_timeout_path_as_it_was() -> None:
    """Every agent of the chain misses its deadline (management network down): nothing is
    declared on it; lab1 is declared dead by the timeout path after T_dead, and Minion 1
    restarts on lab2."""
    ran = power_pull(
        fenced_lab(REDFISH, IPMI), Fault(Kind.BMC_TIMEOUT, 0.0, None, ("lab1",))
    )
    evidence, after = declared(ran)
    assert evidence.rule == "timeout" and evidence.power_off is None
    assert after >= TIMERS.t_dead_s
    assert ran.running_on("Minion 1") == {"lab2"}


def test_a_bmc_that_says_on_declares_nothing() -> None:
    """The BMC answers that the host is still on: no proof; the timeout path declares lab1
    after T_dead."""
    ran = power_pull(fenced_lab(REDFISH), Fault(Kind.BMC_ON, 0.0, None, ("lab1",)))
    evidence, after = declared(ran)
    assert evidence.rule == "timeout" and after >= TIMERS.t_dead_s


def test_a_late_answer_declares_when_it_comes() -> None:
    """The BMC powers the host off and answers two intervals late: the declaration waits for
    the answer and still comes before T_dead."""
    late = 2 * TIMERS.interval_s
    ran = power_pull(fenced_lab(REDFISH), Fault(Kind.BMC_LATE, 0.0, None, ("lab1",), late))
    evidence, after = declared(ran)
    assert evidence.rule == "power_off" and evidence.power_off is not None
    assert evidence.power_off.answered_after_s >= late
    assert after < TIMERS.t_dead_s


def hung_lab1(pool: Pool, *bmc: Fault, seed: int = 5) -> Schedule:
    """lab1's collector hangs for T + 3 intervals (it would have come back after its
    watchdog fired): a suspected host that is not dead."""
    until = START + T + 3 * TIMERS.interval_s
    return schedule(pool, Fault(Kind.HANG, START, until, ("lab1",)), *bmc, seed=seed)


def test_a_hung_host_powered_off_by_its_bmc_is_dead_with_its_vms_and_rejoins_anew() -> None:
    """lab1 hangs; the BMC powers it off (a power loss: Minion 1 dies with it) and the leader
    declares it dead on the confirmation; Minion 1 runs on lab2 and nowhere else (no split
    brain, checked at every step). lab1 stays off until the operator powers it on (the final
    heal), then joins as a new incarnation."""
    ran = simulate(hung_lab1(fenced_lab(REDFISH)))
    assert ran.outcome.ok, [v.describe() for v in ran.outcome.violations]
    evidence, _ = declared(ran)
    assert evidence.rule == "power_off"
    off = [t for t, k, h in ran.outcome.milestones if (k, h) == ("bmc_off", "lab1")]
    assert len(off) == 1 and off[0] < ran.sim.s.heal_at
    joins = [d.incarnation for d in ran.sim.log if isinstance(d, Joined) and d.host == "lab1"]
    assert joins == ["lab1#1", "lab1#2"]
    assert ran.running_on("Minion 1") == {"lab2"}


def _any_answer(e: DeadEvidence, t_dead: float) -> bool:
    """Broken on purpose: any answer of the chain declares the host, "on" included."""
    return e.power_off is not None and e.power_off.incarnation == e.incarnation


UNCONFIRMED = (*DEAD_RULES[:2], DeadRule("power_off", "any answer", _any_answer, after_lead=False))


def test_declaring_dead_on_an_unconfirmed_power_off_is_caught_as_a_split_brain() -> None:
    """A rule that takes the BMC's "on" for a power-off declares the hung lab1 dead while
    Minion 1 still runs there: its restart on lab2 is a double run (invariant 1), and the
    schedule shrinks to the hang and the BMC's answer. The real rules pass the same schedule."""
    # Seed 1: lab2's collector takes the order before lab1's watchdog fires (the suspicion
    # comes up to one interval before it: under some seeds the watchdog wins the race).
    hung = hung_lab1(fenced_lab(REDFISH), Fault(Kind.BMC_ON, 0.0, None, ("lab1",)), seed=1)

    def broken(s: Schedule) -> Outcome:
        return Sim(s, rules=UNCONFIRMED).run()

    outcome = broken(hung)
    assert [v.invariant for v in outcome.violations] == [1]
    assert any("WHILE IT STILL RUNS" in line for line in outcome.trace)
    shrunk, again = shrink(hung, broken)
    assert sorted(f.kind for f in shrunk.faults) == sorted([Kind.HANG, Kind.BMC_ON])
    assert again.violations[0].invariant == 1
    assert Sim(hung).run().ok


BMC_KINDS = (None, Kind.BMC_TIMEOUT, Kind.BMC_ON, Kind.BMC_LATE)


def chained(seed: int) -> Schedule:
    """The seeded random schedule `seed`, every host with a fencing chain whose BMC works,
    misses its deadline, answers on or answers late (drawn per host from the seed)."""
    import random

    from services.sim.generate import random_schedule

    s = random_schedule(seed)
    rng = random.Random(seed)
    hosts = tuple(h.model_copy(update={"fencing": (REDFISH,)}) for h in s.pool.hosts)
    bmc = []
    for h in hosts:
        kind = rng.choice(BMC_KINDS)
        if kind is not None:
            late = rng.uniform(0.5, 3.0) * TIMERS.interval_s if kind is Kind.BMC_LATE else 0.0
            bmc.append(Fault(kind, 0.0, None, (h.name,), late))
    pool = s.pool.model_copy(update={"hosts": hosts})
    return dataclasses.replace(s, pool=pool, faults=(*s.faults, *bmc))


def test_random_schedules_with_every_host_fenced_by_its_bmc_have_no_violation() -> None:
    """200 seeded random schedules (every fault kind, 2-5 hosts) with a fencing chain on every
    host and each host's BMC working, silent, answering on or late: zero violations, and the
    BMC declares some hosts dead (the chains are exercised)."""
    schedules = [chained(seed) for seed in range(700_000, 700_200)]
    summary = run_schedules(schedules, mode="random", seed=700_000, workers=sim_workers())
    assert summary.schedules == 200
    assert summary.violations == 0, summary.first and summary.first.violation.describe()
    declared = 0
    for s in schedules[:40]:
        sim = Sim(s, trace=False)
        sim.run()
        declared += sum(
            1 for d in sim.log if isinstance(d, DeclaredDead) and d.evidence.rule == "power_off"
        )
    assert declared > 0
