"""A device watchdog (`--watchdog linux`) in the simulator: it takes a timeout D, not a
deadline, so the shell pets it only while the core's deadline is D away (the pet rule,
services.common.watchdog_timing). A hung host is then reset before the arbiter may declare it
dead; a driver that pets at every stay, ignoring the pet rule, is caught as a split brain."""

from __future__ import annotations

import dataclasses

import pytest

from services.common.timers import Timers
from services.common.watchdog_timing import default_device_timeout_s
from services.sim.batch import Variant, run_schedules
from services.sim.engine import Sim
from services.sim.faults import Kind, Schedule
from services.sim.generate import exhaustive, lab_pool, random_schedule, single_fault
from tests.sim.helpers import Ran, simulate

T = 30.0
TIMERS = Timers.from_timeout(T)


def _hang(device_s: float | None) -> Schedule:
    schedule = single_fault(lab_pool(T), Kind.HANG, ("lab1",), arbiters=None)
    return dataclasses.replace(schedule, device_watchdog_s=device_s)


def _milestone(ran: Ran, kind: str, subject: str) -> float:
    found = ran.first(kind, subject)
    assert found is not None, f"no {kind} of {subject}:\n" + "\n".join(ran.outcome.trace)
    return found


def test_a_hung_host_is_reset_by_its_device_before_it_is_declared_dead() -> None:
    """lab1 hangs with a device watchdog of the default timeout (floor(T)): the device fires
    at most T + margin after the last proof, before lab1 is declared dead and before Minion 1
    starts on lab2; no invariant breaks."""
    device = default_device_timeout_s(TIMERS)
    assert device is not None
    ran = simulate(_hang(float(device)))
    assert ran.outcome.ok, "\n".join(ran.outcome.trace)
    fired = _milestone(ran, "watchdog", "lab1")
    dead = _milestone(ran, "dead", "lab1")
    assert fired <= TIMERS.watchdog_deadline_s
    assert fired < dead
    assert ran.running_on("Minion 1") == {"lab2"}


def test_the_device_fires_no_later_than_the_process_watchdog_would() -> None:
    """The pet rule skips the pets that would carry the device past the core's deadline: the
    same hang fires the device no later than the process watchdog, which fires at the
    deadline itself."""
    device = default_device_timeout_s(TIMERS)
    assert device is not None
    with_device = _milestone(simulate(_hang(float(device))), "watchdog", "lab1")
    with_process = _milestone(simulate(_hang(None)), "watchdog", "lab1")
    assert with_device <= with_process


class NoPetRule(Sim):
    """A device watchdog driver that pets at every stay, whatever the core's deadline (the
    driver before it learnt the pet rule); module level, so that workers get it."""

    def _may_pet(self, valid_for_s: float, device_s: float) -> bool:
        return True


def test_a_driver_without_the_pet_rule_is_caught() -> None:
    """The pet rule alone, with the timeout the collector accepts (D = floor(T) = 30 s): on
    the 2-host grid's schedule 826 (h1 loses the store, h2 the bus, both kills stuck, the
    arbiters on the hosts, the leader on h1: its own reads of the store fail as h1's do, so
    the storage-outage branch holds) a driver that pets at every stay carries h2's device
    past T_dead, and the arbiter restarts vm2 on h1 while h2 still runs it (invariant 1). The
    real driver passes the same schedule. (Schedule 648, its mirror with the arbiter on a
    witness, no longer shows it: the witness reads h1's slot itself and waits for it to stand
    still for T_dead.)"""
    device = default_device_timeout_s(TIMERS)
    assert device is not None
    grid = next(s for s in exhaustive(2, T) if s.seed == 826)
    assert {f.kind for f in grid.faults} == {Kind.BUS_LINK, Kind.STORE_LINK, Kind.STUCK_KILL}
    schedule = dataclasses.replace(grid, device_watchdog_s=float(device))
    mutant = Variant(sim=NoPetRule)
    summary = run_schedules([schedule], mode="exhaustive", seed=0, workers=1, variant=mutant)
    assert summary.violations == 1
    assert summary.first is not None and summary.first.violation.invariant == 1
    assert Variant().run(schedule).ok


def test_random_schedules_run_device_watchdogs_with_accepted_timeouts() -> None:
    """About one random schedule in three runs a device watchdog whose timeout the collector
    would accept for its T; 150 of them at T = 3, 10 and 30 s keep every invariant."""
    schedules = []
    for timeout in (3.0, 10.0, 30.0):
        timers = Timers.from_timeout(timeout)
        drawn = [random_schedule(seed, timeout_s=timeout) for seed in range(150)]
        devices = [s for s in drawn if s.device_watchdog_s is not None]
        assert 30 <= len(devices) <= 70
        for s in devices:
            assert s.device_watchdog_s is not None
            assert 3 * timers.interval_s <= s.device_watchdog_s <= timers.timeout_s
        schedules.extend(devices[:50])
    summary = run_schedules(schedules, mode="random", seed=0, workers=2)
    assert summary.violations == 0, summary.first


class NoSlackPetRule(Sim):
    """The pet rule before issue 13's review: a pet only while the device then fires by
    pet_until itself (now + D <= pet_until), without the interval of slack."""

    def _may_pet(self, valid_for_s: float, device_s: float) -> bool:
        return valid_for_s >= device_s


def test_a_global_bus_outage_resets_no_healthy_host_through_its_device() -> None:
    """Random seeds 2591 (D = 9 s) and 9931 (D = 18 s) at T = 30 s: every host loses the bus
    and keeps the store; the core extends pet_until only at its first tick after the lease
    proof is T old. With a pet rule that stopped pets D before pet_until, the device fired at
    that tick and reset a healthy host (invariant 3); with one interval of slack none is."""
    for seed, device in ((2591, 9.0), (9931, 18.0)):
        schedule = random_schedule(seed, timeout_s=T)
        assert schedule.device_watchdog_s == device
        outcome = Variant().run(schedule, trace=True)
        assert outcome.ok, "\n".join(outcome.trace[-40:])
        old = Variant(sim=NoSlackPetRule).run(schedule)
        assert [v.invariant for v in old.violations[:1]] == [3], seed


def test_a_device_is_armed_at_boot_and_resets_a_collector_that_hangs_before_its_first_pet() -> None:
    """Opening the device arms it: lab1 reboots (power off, then on) and its new collector
    hangs at boot, before its first tick; the device fires D after the boot, unpetted."""
    device = default_device_timeout_s(TIMERS)
    assert device is not None
    off = single_fault(lab_pool(T), Kind.POWER, ("lab1",), arbiters=None)
    power = off.faults[0]
    on = power.start + T / 2
    boot = on + 2 * TIMERS.interval_s  # the default reboot time
    faults = (
        dataclasses.replace(power, end=on),
        dataclasses.replace(power, kind=Kind.HANG, start=boot, end=None),
    )
    schedule = dataclasses.replace(off, faults=faults, device_watchdog_s=float(device))
    ran = simulate(schedule)
    fired = [at for at, kind, who in ran.outcome.milestones if kind == "watchdog" and who == "lab1"]
    assert fired, "\n".join(ran.outcome.trace)
    assert fired[0] == pytest.approx(boot + device)
