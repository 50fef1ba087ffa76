"""The exits of a fence are kept apart from VMs lost on a healthy host: GuardedVMs (with a
real process watchdog, `sim` VMs) reports the VMs it kills when the host fences or stops as
cause `fenced`, and the same once the watchdog has fired; a VM that stopped before is
reported with its own cause."""

from __future__ import annotations

import time
from pathlib import Path

from schemas.messages import StartOrder
from services.collector.devices import WatchdogChoice
from services.collector.guarded_vms import GuardedVMs
from services.common.timers import Timers
from services.drivers import ProcessWatchdog, SimVMDriver


def _order(vm: str, order_id: str) -> StartOrder:
    return StartOrder(order_id=order_id, vm=vm, host="lab1", incarnation="i-1")


async def test_the_fence_kills_are_reported_as_fenced(tmp_path: Path) -> None:
    """web halts by itself (guest-halt), then the host fences: db is reported `fenced`."""
    vms = GuardedVMs("lab1", tmp_path, Timers.from_timeout(30.0), "sim",
                     WatchdogChoice("process"), now=time.monotonic())  # fmt: skip
    dog = vms.watchdog
    assert isinstance(dog, ProcessWatchdog) and isinstance(vms.driver, SimVMDriver)
    try:
        now = time.monotonic()
        assert vms.start(_order("web", "o-1"), now) is None
        assert vms.start(_order("db", "o-2"), now) is None
        vms.driver.guest_halt("web")
        vms.reap(now)
        await vms.kill_all(fire=False)
        vms.reap(now)
        causes = {(e.vm, e.cause) for e in vms.runner.recent_exits(now)}
        assert causes == {("web", "guest-halt"), ("db", "fenced")}
    finally:
        if dog.alive():
            dog.fire()


async def test_after_the_watchdog_fired_exits_are_the_fences(tmp_path: Path) -> None:
    """Once `fired` says the deadline passed, a VM reaped afterwards is reported `fenced`,
    even before the fence path kills anything."""
    start = time.monotonic()
    vms = GuardedVMs("lab1", tmp_path, Timers.from_timeout(30.0), "sim",
                     WatchdogChoice("process"), now=start)  # fmt: skip
    dog = vms.watchdog
    assert isinstance(dog, ProcessWatchdog) and isinstance(vms.driver, SimVMDriver)
    try:
        assert vms.start(_order("web", "o-1"), start) is None
        assert vms.fired(start + 3600.0)
        vms.driver.kill_all()  # what the watchdog does to the VMs
        vms.reap(start)
        assert [(e.vm, e.cause) for e in vms.runner.recent_exits(start)] == [("web", "fenced")]
    finally:
        if dog.alive():
            dog.fire()
