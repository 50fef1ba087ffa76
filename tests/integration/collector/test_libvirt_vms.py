"""The collector's side of the libvirt driver (GuardedVMs as the shell wires it, a real process
watchdog, libvirt's in-process test hypervisor): a guest's lifecycle event wakes the
collector's asyncio loop (call_soon_threadsafe) and is reaped with its cause; a start the
domain refuses reaches the host report as a failed start; the fence's kill is confirmed."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas.messages import StartOrder
from schemas.pool import VM
from services.collector.devices import LibvirtSetup, WatchdogChoice
from services.collector.guarded_vms import GuardedVMs
from services.common.timers import Timers
from services.drivers import ProcessWatchdog
from services.drivers.vm_libvirt import LibvirtVMDriver
from tests.fixtures.libvirt import domain_xml, need_libvirt

TIMERS = Timers.from_timeout(30.0)
URI = "test:///default"
WAIT_S = 30.0


@pytest.fixture
def conn() -> Iterator[Any]:
    libvirt = need_libvirt()
    c = libvirt.open(URI)
    names: list[str] = []
    c.haplan_names = names
    try:
        yield c
    finally:
        for name in names:
            try:
                dom = c.lookupByName(name)
            except libvirt.libvirtError:
                continue
            if dom.isActive():
                dom.destroy()
            dom.undefine()
        c.close()


def _domain(conn: Any, memory_mib: int) -> str:
    name = f"vm-{uuid.uuid4().hex[:8]}"
    conn.haplan_names.append(name)
    conn.defineXML(domain_xml(name, memory_mib))
    return name


async def test_a_guest_event_wakes_the_collector_and_the_fence_kill_is_confirmed(
    tmp_path: Path, conn: Any
) -> None:
    """A guest shutting itself down sets the collector's nudge event from libvirt's thread and
    is reaped as `guest-halt`; a domain whose memory differs from the pool's is a failed start
    in the report; kill_all returns True with no domain active and nothing running."""
    halts, killed, odd = _domain(conn, 256), _domain(conn, 256), _domain(conn, 512)
    pool = {n: VM(name=n, memory_mib=256) for n in (halts, killed, odd)}
    loop = asyncio.get_running_loop()
    nudged = asyncio.Event()
    setup = LibvirtSetup(URI, lambda: pool, lambda: loop.call_soon_threadsafe(nudged.set))
    now = time.monotonic()
    vms = GuardedVMs("lab1", tmp_path, TIMERS, "libvirt", WatchdogChoice("process"), now=now,
                     fencing=lambda: False, libvirt=setup)  # fmt: skip
    assert isinstance(vms.driver, LibvirtVMDriver)
    dog = vms.watchdog
    assert isinstance(dog, ProcessWatchdog)
    try:
        for n, vm in enumerate((halts, killed, odd)):
            order = StartOrder(order_id=f"o-{n}", vm=vm, host="lab1", incarnation="i-1")
            assert vms.start(order, now) is None  # started in the driver's own thread
        deadline = time.monotonic() + WAIT_S
        failures = []
        while not failures and time.monotonic() < deadline:
            await asyncio.wait_for(nudged.wait(), WAIT_S)
            nudged.clear()
            failures = vms.late_failures(time.monotonic())
        assert [f.vm for f in failures] == [odd]
        assert [f.vm for f in vms.runner.recent_failures(time.monotonic())] == [odd]
        while not (conn.lookupByName(halts).isActive() and conn.lookupByName(killed).isActive()):
            await asyncio.sleep(0.05)
        nudged.clear()
        conn.lookupByName(halts).shutdown()
        await asyncio.wait_for(nudged.wait(), WAIT_S)
        exits = vms.reap(time.monotonic())
        assert [(e.vm, e.cause) for e in exits] == [(halts, "guest-halt")]
        assert await vms.kill_all(fire=False)
        assert vms.running() == []
        assert not conn.lookupByName(killed).isActive()
        assert [(e.vm, e.cause) for e in vms.reap(time.monotonic())] == [(killed, "killed")]
    finally:
        vms.driver.close()
        if dog.alive():
            await vms.disarm()
