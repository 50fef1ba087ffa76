"""A device watchdog (`--watchdog linux`) in the simulator: it takes a timeout D, not a
deadline, so the shell pets it only while the core's deadline is D away (the pet rule,
services.common.watchdog_timing). A hung host is then reset before the arbiter may declare it
dead; a driver that pets at every stay with the driver's default timeout is caught as a split
brain."""

from __future__ import annotations

import dataclasses

from services.common.timers import Timers
from services.common.watchdog_timing import default_device_timeout_s
from services.sim.batch import Variant, run_schedules
from services.sim.faults import Kind, Schedule
from services.sim.generate import lab_pool, single_fault
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


def test_a_driver_that_pets_at_every_stay_with_its_default_timeout_is_caught() -> None:
    """softdog's default timeout is 60 s; a driver that never set it and pets at every stay
    (the driver before issue 13) leaves a hung lab1's Minion 1 running past T_dead = 42 s, and
    the simulator finds the split brain (invariant 1). With the pet rule and the timeout the
    collector accepts, the same hang passes."""
    naive = Variant(naive_device=True)
    summary = run_schedules([_hang(60.0)], mode="random", seed=0, workers=1, variant=naive)
    assert summary.violations == 1
    assert summary.first is not None and summary.first.violation.invariant == 1
    device = default_device_timeout_s(TIMERS)
    assert device is not None
    assert Variant().run(_hang(float(device))).ok

