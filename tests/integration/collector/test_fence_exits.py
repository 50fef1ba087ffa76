"""The exits of a fence are kept apart from VMs lost on a healthy host: GuardedVMs (with a
real process watchdog, `sim` VMs) reports the VMs that exit once the collector's core has fenced
(or is stopping, or its watchdog fired) as cause `fenced`, read from the core's phase, not from
a flag of its own; a VM that stopped before is reported with its own cause."""

from __future__ import annotations

import time
from pathlib import Path

from schemas.messages import StartOrder
from services.collector.core import Collector, Phase
from services.collector.devices import WatchdogChoice
from services.collector.guarded_vms import GuardedVMs
from services.common.timers import Timers
from services.drivers import ProcessWatchdog, SimVMDriver

TIMERS = Timers.from_timeout(30.0)


def _order(vm: str, order_id: str) -> StartOrder:
    return StartOrder(order_id=order_id, vm=vm, host="lab1", incarnation="i-1")


def _guarded(tmp_path: Path, core: Collector, now: float) -> GuardedVMs:
    # As the shell wires it (services.collector.shell).
    return GuardedVMs("lab1", tmp_path, TIMERS, "sim", WatchdogChoice("process"), now=now,
                      fencing=lambda: core.phase is Phase.FENCED)  # fmt: skip


async def test_the_fence_kills_are_reported_as_fenced(tmp_path: Path) -> None:
    """web halts by itself (guest-halt), then the host fences: db is reported `fenced`."""
    now = time.monotonic()
    core = Collector("lab1", "i-1", ("lab1", "lab2"), TIMERS, booted_at=now)
    vms = _guarded(tmp_path, core, now)
    dog = vms.watchdog
    assert isinstance(dog, ProcessWatchdog) and isinstance(vms.driver, SimVMDriver)
    try:
        assert vms.start(_order("web", "o-1"), now) is None
        assert vms.start(_order("db", "o-2"), now) is None
        vms.driver.guest_halt("web")
        vms.reap(now)
        core.fence("lost the bus")
        await vms.kill_all(fire=False)
        vms.reap(now)
        causes = {(e.vm, e.cause) for e in vms.runner.recent_exits(now)}
        assert causes == {("web", "guest-halt"), ("db", "fenced")}
    finally:
        if dog.alive():
            dog.fire()


async def test_after_the_watchdog_fired_exits_are_the_fences(tmp_path: Path) -> None:
    """Once `fired` says the deadline passed and the core hears of it (as the shell tells it),
    a VM reaped afterwards is reported `fenced`, even before the fence path kills anything;
    one that stopped before keeps its own cause."""
    start = time.monotonic()
    core = Collector("lab1", "i-1", ("lab1", "lab2"), TIMERS, booted_at=start)
    vms = _guarded(tmp_path, core, start)
    dog = vms.watchdog
    assert isinstance(dog, ProcessWatchdog) and isinstance(vms.driver, SimVMDriver)
    try:
        assert vms.start(_order("web", "o-1"), start) is None
        assert vms.start(_order("db", "o-2"), start) is None
        vms.driver.guest_halt("db")  # before the watchdog fired: its own cause
        vms.reap(start)
        assert vms.fired(start + 3600.0)
        core.watchdog_fired()
        vms.driver.kill_all()  # what the watchdog does to the VMs
        vms.reap(start)
        causes = [(e.vm, e.cause) for e in vms.runner.recent_exits(start)]
        assert causes == [("db", "guest-halt"), ("web", "fenced")]
    finally:
        if dog.alive():
            dog.fire()
