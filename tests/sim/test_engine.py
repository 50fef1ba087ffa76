"""The simulator's own machinery: determinism, the watchdog model, leader changes, and the
invariant checker catching what it must."""

from __future__ import annotations

import dataclasses

from services.common.timers import Timers
from services.sim.engine import Sim
from services.sim.faults import Arbiters, Fault, Kind, Schedule
from services.sim.generate import WITNESS, lab_pool, random_schedule, single_fault
from services.sim.invariants import POOL, Checker
from tests.sim.helpers import simulate

LAB = lab_pool(30.0)
TIMERS = Timers.from_timeout(30.0)


def test_a_schedule_always_runs_the_same_way() -> None:
    """Same schedule, same run: traces, milestones and event counts are identical."""
    schedule = random_schedule(4242, hosts=4)
    a, b = Sim(schedule).run(), Sim(schedule).run()
    assert a.trace == b.trace and a.milestones == b.milestones and a.events == b.events
    assert len(a.trace) > 5


def test_a_hung_collectors_vms_die_at_the_watchdog_deadline_before_it_is_declared_dead() -> None:
    """SIGSTOP lab1's collector: its watchdog kills Minion 1 within T + margin of the last
    proof of life, and only later does the leader declare lab1 dead."""
    ran = simulate(single_fault(LAB, Kind.HANG, ("lab1",), arbiters=Arbiters(("lab2", "lab1"))))
    assert ran.outcome.ok, ran.outcome.violations
    watchdog, dead = ran.first("watchdog", "lab1"), ran.first("dead", "lab1")
    assert watchdog is not None and dead is not None
    assert watchdog <= TIMERS.watchdog_deadline_s
    assert watchdog < dead
    assert ran.running_on("Minion 1") == {"lab2"}


def test_a_quick_power_cycle_is_handled_by_the_rebooted_incarnation() -> None:
    """lab1 is off for less than T_dead: its new incarnation's join tells the leader the old
    one is gone, which is declared dead by the fast path, and Minion 1 restarts."""
    start = TIMERS.t_dead_s + 1.0
    schedule = single_fault(
        LAB, Kind.POWER, ("lab1",), at=start, until=start + 5.0, arbiters=Arbiters(("lab2", "lab1"))
    )
    ran = simulate(schedule)
    assert ran.outcome.ok, ran.outcome.violations
    [dead] = ran.declared("lab1")
    assert dead.evidence.incarnation == "lab1#1" and dead.evidence.rule == "fenced"
    dead_after = ran.first("dead", "lab1")
    assert dead_after is not None and dead_after < TIMERS.t_dead_s
    assert ran.running_on("Minion 1")


def test_a_leader_crash_delays_restarts_by_the_new_leaders_warm_up_only() -> None:
    """lab1 loses power while the leader (on lab2) crashes: the witness takes over after the
    leader lease, waits T_dead, then declares lab1 dead and restarts Minion 1."""
    start = TIMERS.t_dead_s + 1.0
    schedule = Schedule(
        7,
        LAB,
        Arbiters(("lab2",), (WITNESS,)),
        (
            Fault(Kind.POWER, start, None, ("lab1",)),
            Fault(Kind.ARBITER_CRASH, start, None, ("arbiter@lab2",)),
        ),
        heal_at=6 * TIMERS.t_dead_s,
        end_at=9 * TIMERS.t_dead_s,
        timeout_s=30.0,
    )
    ran = simulate(schedule)
    assert ran.outcome.ok, ran.outcome.violations
    assert any("witness leads (term 2)" in line for line in ran.outcome.trace)
    dead_after = ran.first("dead", "lab1")
    assert dead_after is not None
    assert (
        TIMERS.t_dead_s + TIMERS.interval_s
        < dead_after
        <= (TIMERS.leader_lease_s + TIMERS.t_dead_s + 3 * TIMERS.interval_s)
    )
    assert ran.running_on("Minion 1") == {"lab2"}


def test_lossy_duplicating_delaying_bus_keeps_the_invariants() -> None:
    """Every message slowed, a quarter lost and a third duplicated for a long while: the pool
    still restarts lab1's VM after a power loss, with no violation."""
    start = TIMERS.t_dead_s + 1.0
    noise = tuple(
        Fault(kind, TIMERS.interval_s, None, ("*",), amount)
        for kind, amount in ((Kind.DELAY, 2.0), (Kind.LOSS, 0.25), (Kind.DUPLICATION, 0.3))
    )
    schedule = Schedule(
        11,
        LAB,
        Arbiters(("lab2", "lab1")),
        (*noise, Fault(Kind.POWER, start, None, ("lab1",))),
        heal_at=4 * TIMERS.t_dead_s,
        end_at=8 * TIMERS.t_dead_s,
        timeout_s=30.0,
    )
    ran = simulate(schedule)
    assert ran.outcome.ok, ran.outcome.violations
    assert ran.running_on("Minion 1") == {"lab2"}


def _checker() -> Checker:
    return Checker(LAB, TIMERS, budget_s=60.0)


def test_the_checker_flags_a_vm_started_on_a_second_host() -> None:
    """Invariant 1: a second instance while the first runs is a violation naming both."""
    checker = _checker()
    checker.vm_started("Minion 1", "lab1", 0.0)
    checker.vm_started("Minion 1", "lab2", 5.0)
    [v] = checker.violations
    assert v.invariant == 1 and "lab1" in v.what and "lab2" in v.what
    again = _checker()
    again.vm_started("Minion 1", "lab1", 0.0)
    again.vm_killed("Minion 1", "lab1", 1.0)
    again.vm_started("Minion 1", "lab2", 2.0)
    assert again.violations == []


def test_the_checker_flags_a_healthy_host_fencing() -> None:
    """Invariant 3: fencing a host healthy for the last three intervals is a violation; a
    host that just had a fault, or a pool without quorum, is not."""
    checker = _checker()
    checker.fenced("lab1", 100.0, "fenced")
    assert [v.invariant for v in checker.violations] == [3]
    checker = _checker()
    checker.set_health("lab1", False, 90.0)
    checker.set_health("lab1", True, 99.0)
    checker.fenced("lab1", 100.0, "fenced")
    checker.set_health(POOL, False, 100.0)
    checker.fenced("lab2", 100.0, "fenced")
    assert checker.violations == []


def test_the_checker_holds_a_restart_deadline_only_when_nothing_else_went_wrong() -> None:
    """Invariant 2: a protected VM not running again by its deadline is a violation when
    another healthy host had room; if something else failed after the kill, the final check
    (after every fault healed) decides instead."""
    checker = _checker()
    checker.vm_started("Minion 1", "lab1", 0.0)
    ob = checker.vm_killed("Minion 1", "lab1", 100.0)
    assert ob is not None
    checker.check_deadline(ob, ["lab1", "lab2"], 200.0)
    assert [v.invariant for v in checker.violations] == [2]
    later = _checker()
    ob = later.vm_killed("Minion 1", "lab1", 100.0)
    assert ob is not None
    later.set_health("lab2", False, 150.0)
    later.check_deadline(ob, ["lab1", "lab2"], 200.0)
    assert later.violations == []
    later.check_final(300.0)
    assert [v.invariant for v in later.violations] == [2]


def test_a_schedule_without_a_fault_keeps_everything_else_and_prints_its_durations() -> None:
    """Shrinking drops one fault and keeps every other field (the durations, maintenance, the
    watchdog); the JSON a failing schedule is printed as names both simulated durations."""
    s = random_schedule(4242, hosts=4)
    s = dataclasses.replace(s, reboot_s=7.0, boot_s=3.0, maintenance=("h4",))
    shrunk = s.without(0)
    assert shrunk.faults == s.faults[1:]
    assert dataclasses.replace(shrunk, faults=s.faults) == s
    printed = s.to_json()
    assert (printed["reboot_s"], printed["boot_s"]) == (7.0, 3.0)
