"""A protected VM that dies on a healthy host comes back, and status tells the truth in
between: real collectors with process VMs, a real arbiter, a real nats-server (T = 2 s).
Deadlines are generous; the tests assert order and outcome, not durations."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
from typing import Any

from schemas.events import (
    HostDeclaredDead,
    HostFenced,
    VMFailed,
    VMLost,
    VMRestartOrdered,
    VMStarted,
)
from schemas.pool import VM, HAConfig, Host, Pool
from tests.integration.collector.harness import eventually
from tests.integration.system.conftest import System, T

HOSTS = ("h1", "h2", "h3")


def _pool(*vms: VM) -> Pool:
    return Pool(
        name="lost",
        ha=HAConfig(host_failures_to_tolerate=1, timeout_s=T),
        hosts=tuple(Host(name=h, memory_mib=4096) for h in HOSTS),
        vms=vms,
    )


def _vm(name: str, host: str | None, **fields: object) -> VM:
    base = {"name": name, "memory_mib": 256, "host": host, "ha_restart_priority": "restart"}
    return VM.model_validate(base | fields)


async def _power(system: System, vm: str) -> str | None:
    """`power_state` of `vm` in the leader's status answer (None: no answer yet)."""
    try:
        msg = await system.nc.request("ha.op.status", b"{}", timeout=2)
    except Exception:
        return None
    answer: dict[str, Any] = json.loads(msg.data)
    for v in answer.get("vms", []):
        if v["name"] == vm:
            return str(v["power_state"])
    return None


async def _until_power(system: System, vm: str, want: set[str], timeout: float) -> str:
    deadline = asyncio.get_running_loop().time() + timeout
    while (state := await _power(system, vm)) not in want:
        assert asyncio.get_running_loop().time() < deadline, f"{vm} never {want} ({state})"
        await asyncio.sleep(0.05)
    assert state is not None
    return state


async def _starts(system: System, vm: str, count: int, timeout: float) -> list[VMStarted]:
    deadline = asyncio.get_running_loop().time() + timeout
    while len(starts := await system.of(VMStarted, vm=vm)) < count:
        assert asyncio.get_running_loop().time() < deadline, f"{vm} not started {count} times"
        await asyncio.sleep(0.1)
    return [s for s in starts if isinstance(s, VMStarted)]


async def test_a_vm_killed_on_a_healthy_host_comes_back_there(system: System) -> None:
    """web's process on h2 is SIGKILLed (as the OOM killer would): status shows it not
    running, the arbiter records it lost with cause `killed`, orders it again on h2, and a
    new instance runs there (status: running again). h2 is never fenced or declared dead,
    and the audit accepts every decision."""
    await system.start(_pool(_vm("web", "h2")))
    await _starts(system, "web", 1, 120)
    await _until_power(system, "web", {"running"}, 60)
    # Until the VM process has exec'd, its command line is still the collector's.
    pid = await eventually(lambda: system.vm_pid("h2", "web"), 60, "web's process on h2")
    seen: list[str | None] = []

    async def watch() -> None:
        while True:
            seen.append(await _power(system, "web"))
            await asyncio.sleep(0.1)

    watcher = asyncio.create_task(watch())
    try:
        await _killed_and_back(system, pid, seen)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    assert await system.of(HostFenced) == [] and await system.of(HostDeclaredDead) == []
    await system.verified()


async def _killed_and_back(system: System, pid: int, seen: list[str | None]) -> None:
    # The watcher has seen it running: then kill it.
    await eventually(lambda: "running" in seen, 60, "the watcher sees web running")
    os.kill(pid, signal.SIGKILL)
    lost = await system.wait_for(VMLost, 60, vm="web")
    assert isinstance(lost, VMLost) and (lost.host, lost.cause) == ("h2", "killed")
    [_, again] = await _starts(system, "web", 2, 60)
    assert again.host == "h2"
    events = [r.event for r in await system.events()]
    assert events.index(lost) < events.index(again)
    orders = [o for o in await system.of(VMRestartOrdered, vm="web")]
    assert orders[-1].host == "h2" and events.index(lost) < events.index(orders[-1])
    seen.append(await _until_power(system, "web", {"running"}, 60))
    # Running when killed, then not running (stopped or restarting), then running again.
    down = [i for i, s in enumerate(seen) if s in ("stopped", "restarting")]
    assert down and down[0] > seen.index("running"), seen
    assert "running" in seen[down[-1] :], seen
    await eventually(
        lambda: system.vm_pid("h2", "web") not in (None, pid), 60, "a new web process on h2"
    )


async def test_a_vm_that_cannot_write_its_disk_is_not_shown_running_then_fails(
    system: System,
) -> None:
    """web's disk becomes unwritable (its file replaced by a directory): each instance exits
    `storage-lost`. Status shows it not running at once; after its limits (1 restart, 1
    relocation) it is failed, with a VMFailed and no more orders. Once the disk is back,
    `vm start web` clears it and it runs again."""
    await system.start(_pool(_vm("web", "h2", max_restart=1, max_relocate=1)))
    await _starts(system, "web", 1, 120)
    await _until_power(system, "web", {"running"}, 60)
    disk = system.shared / "disks" / "web.log"
    await eventually(disk.is_file, 60, "web writes its disk")
    disk.unlink()
    disk.mkdir()
    await _until_power(system, "web", {"stopped", "restarting", "failed"}, 60)
    deadline = asyncio.get_running_loop().time() + 60
    while not await system.of(VMFailed, vm="web"):
        assert asyncio.get_running_loop().time() < deadline, "web never failed"
        await asyncio.sleep(0.1)
    losses = await system.of(VMLost, vm="web")
    assert losses and all(isinstance(x, VMLost) and x.cause == "storage-lost" for x in losses)
    await _until_power(system, "web", {"failed"}, 10)
    orders = len(await system.of(VMRestartOrdered, vm="web"))
    await asyncio.sleep(3 * T)
    assert len(await system.of(VMRestartOrdered, vm="web")) == orders
    shutil.rmtree(disk)
    await system.leading()
    reply = await system.op("vm-start", {"vm": "web"})
    assert reply.ok, reply
    await _until_power(system, "web", {"running"}, 60)
    await system.verified()


async def _kill_running(system: System, vm: str, host: str, not_pid: int | None) -> int:
    """SIGKILL the process of `vm` on `host` once it is a new one (not `not_pid`); its pid."""
    pid = await eventually(
        lambda: (p if (p := system.vm_pid(host, vm)) not in (None, not_pid) else None),
        60, f"a new {vm} process on {host}",
    )  # fmt: skip
    os.kill(pid, signal.SIGKILL)
    return int(pid)


async def test_a_vm_killed_past_its_restart_limit_fails_until_vm_start(system: System) -> None:
    """web (max_restart 1, max_relocate 0) is SIGKILLed on healthy h2; it is recorded lost
    (cause `killed`) and started again on h2, its one try. Killed again, it has no try left:
    a VMFailed is recorded, status shows it `failed` and no order follows for 3 T. `vm start
    web` clears it and it runs again. h2 is never fenced or declared dead, and the audit
    accepts every decision."""
    await system.start(_pool(_vm("web", "h2", max_restart=1, max_relocate=0)))
    await _starts(system, "web", 1, 120)
    await _until_power(system, "web", {"running"}, 60)
    first = await _kill_running(system, "web", "h2", None)
    [_, again] = await _starts(system, "web", 2, 60)
    assert again.host == "h2"
    await _until_power(system, "web", {"running"}, 60)
    await _kill_running(system, "web", "h2", first)
    failed = await system.wait_for(VMFailed, 60, vm="web")
    losses = await system.of(VMLost, vm="web")
    assert [(x.host, x.cause) for x in losses if isinstance(x, VMLost)] == [("h2", "killed")] * 2
    events = [r.event for r in await system.events()]
    assert events.index(losses[1]) < events.index(failed)
    await _until_power(system, "web", {"failed"}, 10)
    orders = len(await system.of(VMRestartOrdered, vm="web"))
    await asyncio.sleep(3 * T)
    assert len(await system.of(VMRestartOrdered, vm="web")) == orders
    assert len(await system.of(VMStarted, vm="web")) == 2
    await system.leading()
    reply = await system.op("vm-start", {"vm": "web"})
    assert reply.ok, reply
    await _starts(system, "web", 3, 60)
    await _until_power(system, "web", {"running"}, 60)
    assert await system.of(HostFenced) == [] and await system.of(HostDeclaredDead) == []
    await system.verified()
