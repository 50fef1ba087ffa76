"""Restart orchestration and operator requests on a running pool: real collectors with
process VMs, a real arbiter, a real nats-server (T = 2 s)."""

from __future__ import annotations

import asyncio
import json
import os
import signal

from schemas.events import (
    HADisabled,
    HostDeclaredDead,
    HostExcluded,
    HostJoined,
    OvercommitAllowed,
    VMEvacuated,
    VMLost,
    VMProtectionSet,
    VMRestartOrdered,
    VMShutDownByAdmin,
    VMStarted,
)
from schemas.pool import VM, HAConfig, Host, Pool
from tests.integration.system.conftest import System, T

HOSTS = ("h1", "h2", "h3")


def _pool(*vms: VM, ntol: int = 1) -> Pool:
    return Pool(
        name="system",
        ha=HAConfig(host_failures_to_tolerate=ntol, timeout_s=T),
        hosts=tuple(Host(name=h, memory_mib=4096) for h in HOSTS),
        vms=vms,
    )


def _vm(name: str, host: str | None, **fields: object) -> VM:
    base = {"name": name, "memory_mib": 256, "host": host, "ha_restart_priority": "restart"}
    return VM.model_validate(base | fields)


async def _running(system: System, *vms: str) -> None:
    """Every VM named has been started (in place at boot, or by a restart)."""
    for vm in vms:
        await system.wait_for(VMStarted, 30, vm=vm)


async def test_restarts_follow_order_and_start_delay(system: System) -> None:
    """h1 loses power: db (order 1, start delay 1.5 s) is ordered before app (order 2), and
    app's order comes at least 1.5 s after db's start was recorded."""
    await system.start(
        _pool(_vm("db", "h1", order=1, start_delay_s=1.5), _vm("app", "h1", order=2))
    )
    await _running(system, "db", "app")
    await system.power_off("h1")
    await system.wait_for(HostDeclaredDead, 30, host="h1")

    async def restarted(vm: str) -> VMStarted:
        while True:
            starts = await system.of(VMStarted, vm=vm)
            if len(starts) == 2:
                started = starts[1]
                assert isinstance(started, VMStarted)
                return started
            await asyncio.sleep(0.1)

    db_started = await asyncio.wait_for(restarted("db"), 30)
    await asyncio.wait_for(restarted("app"), 30)
    orders = [o for o in await system.of(VMRestartOrdered) if o.host != "h1"]
    assert [o.vm for o in orders] == ["db", "app"]
    assert (orders[1].at - db_started.at).total_seconds() >= 1.5
    await system.verified()


async def test_a_guest_halt_restarts_the_vm_an_admin_shutdown_does_not(system: System) -> None:
    """web halts from inside (the guest): HA starts it again. Then `vm shutdown web`: it
    stops, is recorded shut down by an admin, and stays halted."""
    await system.start(_pool(_vm("web", "h2")))
    await _running(system, "web")
    pid = system.vm_pid("h2", "web")
    assert pid is not None
    os.kill(pid, signal.SIGUSR1)  # the process driver's "halt inside the guest"
    await system.wait_for(VMLost, 30, vm="web", cause="guest-halt")
    while len(await system.of(VMStarted, vm="web")) < 2:
        await asyncio.sleep(0.1)
    await system.leading()
    reply = await system.op("vm-shutdown", {"vm": "web"})
    assert reply.ok and reply.detail["stop_ordered"], reply
    await system.wait_for(VMShutDownByAdmin, 30, vm="web")
    orders = len(await system.of(VMRestartOrdered, vm="web"))
    await asyncio.sleep(2 * T)
    assert len(await system.of(VMRestartOrdered, vm="web")) == orders
    assert all(system.vm_pid(h, "web") is None for h in HOSTS)
    reply = await system.op("vm-shutdown", {"vm": "web"})
    assert not reply.ok and reply.code == "conflict" and "already halted" in (reply.error or "")
    await system.verified()


async def test_admission_control_refuses_what_breaks_the_plan(system: System) -> None:
    """Protecting big (3200 MiB) would leave the pool unable to absorb one host failure
    (no survivor of h2 has room for it; ntol 1): refused with the numbers, nothing appended.
    With overcommit allowed it is accepted."""
    await system.start(
        _pool(
            _vm("small", "h1", memory_mib=1024),
            _vm("big", "h2", memory_mib=3200, ha_restart_priority=""),
            _vm("big2", "h3", memory_mib=3072, ha_restart_priority=""),
        )
    )
    await system.leading()
    reply = await system.op("vm-set", {"vm": "big", "ha_restart_priority": "restart"})
    assert not reply.ok and reply.code == "refused", reply
    assert "overcommit" in (reply.error or "") and "host_failures_to_tolerate 1" in (
        reply.error or ""
    )
    assert await system.of(VMProtectionSet) == []
    reply = await system.op("pool-set", {"allow_overcommit": True})
    assert reply.ok, reply
    await system.wait_for(OvercommitAllowed, 30)
    reply = await system.op("vm-set", {"vm": "big", "ha_restart_priority": "restart"})
    assert reply.ok, reply
    [protected] = await system.of(VMProtectionSet)
    assert isinstance(protected, VMProtectionSet) and protected.ha_restart_priority == "restart"
    await system.verified()


async def test_bad_operator_requests_are_answered_and_counted(system: System) -> None:
    """An unknown VM, an out-of-range ntol and a body that is not JSON each get a one-line
    `invalid` answer; the leader counts the malformed one and keeps answering."""
    await system.start(_pool(_vm("web", "h1")))
    await system.leading()
    unknown = await system.op("vm-shutdown", {"vm": "nope"})
    assert unknown.code == "invalid" and "no VM named 'nope'" in (unknown.error or "")
    ntol = await system.op("pool-set", {"host_failures_to_tolerate": 3})
    assert ntol.code == "invalid" and "at most 2" in (ntol.error or "")
    garbage = await system.op("ha-enable", b"{not json")
    assert garbage.code == "invalid"
    arbiter = system.arbiters[0]
    assert arbiter.metric("haplan_arbiter_malformed_messages_total", subject="op") >= 1
    assert (await system.op("ha-enable")).ok


async def test_ha_disabled_restarts_nothing_until_enabled(system: System) -> None:
    """With HA off, h1 losing power is not declared dead; once HA is on again it is (after
    a full T_dead) and its VM restarts elsewhere."""
    await system.start(_pool(_vm("web", "h1")))
    await _running(system, "web")
    await system.leading()
    assert (await system.op("ha-disable")).ok
    await system.wait_for(HADisabled, 30)
    await system.power_off("h1")
    await asyncio.sleep(3 * T)
    assert await system.of(HostDeclaredDead) == []
    assert (await system.op("ha-enable")).ok
    await system.wait_for(HostDeclaredDead, 30, host="h1")
    while len(await system.of(VMStarted, vm="web")) < 2:
        await asyncio.sleep(0.1)
    [_, restarted] = await system.of(VMStarted, vm="web")
    assert isinstance(restarted, VMStarted) and restarted.host != "h1"
    assert len(await system.of(HostJoined)) == 3
    await system.verified()


async def test_evacuation_moves_the_vms_and_enable_takes_the_host_back(system: System) -> None:
    """`host evacuate h1`: h1 is excluded, web (unprotected: every VM moves) stops there and
    starts on another host; `host enable h1` brings h1 back into the liveset."""
    await system.start(_pool(_vm("web", "h1", ha_restart_priority="")))
    await _running(system, "web")
    await system.leading()
    reply = await system.op("host-evacuate", {"host": "h1"})
    assert reply.ok and reply.detail["stopping"] == ["web"], reply
    await system.wait_for(HostExcluded, 30, host="h1")
    await system.wait_for(VMEvacuated, 30, vm="web", host="h1")
    while len(await system.of(VMStarted, vm="web")) < 2:
        await asyncio.sleep(0.1)
    [_, moved] = await system.of(VMStarted, vm="web")
    assert isinstance(moved, VMStarted) and moved.host in ("h2", "h3")
    assert (await system.op("host-enable", {"host": "h1"})).ok
    status = await system.nc.request("ha.op.status", b"{}", timeout=5)
    hosts = {h["name"]: h["state"] for h in json.loads(status.data)["hosts"]}
    assert hosts["h1"] == "live"
    again = await system.op("host-enable", {"host": "h1"})
    assert again.code == "conflict" and "not in maintenance" in (again.error or "")
    await system.verified()


async def test_an_evacuation_that_breaks_the_plan_is_refused_unless_overcommit_is_allowed(
    system: System,
) -> None:
    """ntol 2 on three hosts: with h1 in maintenance two hosts are left, which can never
    absorb two failures. `host evacuate h1` is refused with the configured 2 in the reply and
    nothing appended (it was admitted when judged against ntol clipped to the hosts left);
    with overcommit allowed it is carried out and the reply's plan says ntol no longer holds."""
    await system.start(_pool(_vm("web", "h1"), ntol=2))
    await _running(system, "web")
    await system.leading()
    reply = await system.op("host-evacuate", {"host": "h1"})
    assert not reply.ok and reply.code == "refused", reply
    assert "evacuating h1 would overcommit" in (reply.error or "")
    assert "host_failures_to_tolerate 2" in (reply.error or "")
    assert await system.of(HostExcluded) == []
    assert (await system.op("pool-set", {"allow_overcommit": True})).ok
    await system.wait_for(OvercommitAllowed, 30)
    reply = await system.op("host-evacuate", {"host": "h1"})
    assert reply.ok, reply
    plan = reply.detail["plan"]
    assert plan["ntol_holds"] is False
    assert plan["capacity_after"]["host_failures_to_tolerate"] == 2
    await system.wait_for(HostExcluded, 30, host="h1")
    await system.verified()
