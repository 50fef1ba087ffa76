"""The operator verbs end to end: `haplan` commands against a running pool (real collectors
with process VMs, a real `haplan arbiter` leading, a real nats-server, T = 2 s). What the
commands print is checked against what the log records."""

from __future__ import annotations

import asyncio
from typing import Any

from schemas.events import (
    HADisabled,
    HAEnabled,
    HostExcluded,
    VMProtectionSet,
    VMShutDownByAdmin,
    VMStarted,
)
from schemas.pool import VM, HAConfig, Host, Pool
from tests.integration.cli.runner import haplan
from tests.integration.system.conftest import System, T

HOSTS = ("h1", "h2", "h3")


def _pool() -> Pool:
    """web (unprotected) on h1, db (protected) on h2, ntol 1: room to spare everywhere."""
    return Pool(
        name="cli-e2e",
        ha=HAConfig(host_failures_to_tolerate=1, timeout_s=T),
        hosts=tuple(Host(name=h, memory_mib=4096) for h in HOSTS),
        vms=(
            VM(name="web", memory_mib=256, host="h1"),
            VM(name="db", memory_mib=256, host="h2", ha_restart_priority="restart"),
        ),
    )


async def _started(system: System, vm: str, times: int, timeout: float = 30) -> VMStarted:
    """The `times`-th start of `vm` in the log, once it is there."""
    deadline = asyncio.get_running_loop().time() + timeout
    while len(starts := await system.of(VMStarted, vm=vm)) < times:
        assert asyncio.get_running_loop().time() < deadline, f"{vm} not started {times}x"
        await asyncio.sleep(0.1)
    start = starts[times - 1]
    assert isinstance(start, VMStarted)
    return start


async def _running_pool(system: System) -> None:
    await system.start(_pool())
    await _started(system, "web", 1)
    await _started(system, "db", 1)
    await system.leading()


async def test_status_host_status_and_pool_settings_through_the_cli(system: System) -> None:
    """`status` names the leader with every host live and the VMs where they run; `host
    status` shows the collector a member running web; an out-of-range ntol is exit 2 with
    the leader's words; protecting web, HA off and on and allowing overcommit are recorded
    as the commands said."""
    await _running_pool(system)
    url = system.url

    async def all_live() -> dict[str, Any]:
        while True:
            shown = (await haplan("status", "--json", url=url)).json()
            if all(h["in_liveset"] for h in shown["hosts"]):
                return dict(shown)
            await asyncio.sleep(0.2)

    status = await asyncio.wait_for(all_live(), 30)
    assert status["leader"] == "arb-1" and status["pool"] == "cli-e2e"
    assert {v["name"]: (v["host"], v["power_state"]) for v in status["vms"]} == {
        "web": ("h1", "running"),
        "db": ("h2", "running"),
    }

    h1 = await haplan("host", "status", "h1", "--json", url=url)
    assert h1.code == 0 and h1.err == "", h1.err
    view = h1.json()
    assert (view["phase"], view["in_liveset"], view["reason"]) == ("member", True, None)
    assert [i["vm"] for i in view["instances"]] == ["web"] and view["leader"] == "arb-1"

    too_many = await haplan("pool", "set", "ha-host-failures-to-tolerate=3", url=url)
    assert too_many.code == 2 and "tolerates at most 2" in too_many.error_line()

    protect = await haplan("vm", "set", "web", "ha-restart-priority=restart", "order=2",
                           "start-delay=0.5", "--json", url=url)  # fmt: skip
    assert protect.code == 0, protect.err
    assert protect.json()["detail"]["recorded"] == "vm_protection_set"
    [recorded] = await system.of(VMProtectionSet, vm="web")
    assert isinstance(recorded, VMProtectionSet)
    assert (recorded.ha_restart_priority, recorded.order, recorded.start_delay_s) == (
        "restart", 2, 0.5,
    )  # fmt: skip

    off = await haplan("pool", "ha-disable", url=url)
    assert off.code == 0 and "HA is disabled" in off.out, off.err
    assert (await haplan("status", "--json", url=url)).json()["ha_enabled"] is False
    on = await haplan("pool", "ha-enable", url=url)
    assert on.code == 0 and "HA is enabled" in on.out, on.err
    assert len(await system.of(HADisabled)) == 1 and len(await system.of(HAEnabled)) == 1
    assert (await haplan("status", "--json", url=url)).json()["ha_enabled"] is True
    await system.verified()


async def test_evacuate_enable_shutdown_and_start_through_the_cli(system: System) -> None:
    """`host evacuate h1` lists web's move and web starts elsewhere; `host enable h1` takes
    h1 back (twice is a conflict, exit 1); `vm shutdown web` halts it for good and answers
    `halted: true` once the halt is in the log (twice is exit 1, an unknown VM exit 2);
    `vm start web --on h1` starts it on h1."""
    await _running_pool(system)
    url = system.url

    evacuate = await haplan("host", "evacuate", "h1", "--json", url=url)
    assert evacuate.code == 0, evacuate.err
    detail = evacuate.json()["detail"]
    assert detail["stopping"] == ["web"]
    [move] = detail["plan"]["moves"]
    assert move["vm"] == "web" and move["host"] in ("h2", "h3")
    await system.wait_for(HostExcluded, 30, host="h1")
    moved = await _started(system, "web", 2)
    assert moved.host in ("h2", "h3")

    enable = await haplan("host", "enable", "h1", url=url)
    assert enable.code == 0 and "left maintenance" in enable.out, enable.err
    again = await haplan("host", "enable", "h1", url=url)
    assert again.code == 1 and "not in maintenance" in again.error_line()

    shutdown = await haplan("vm", "shutdown", "web", "--json", url=url)
    assert shutdown.code == 0, shutdown.err
    # Answered once the halt is confirmed, not when the stop was only ordered (halted: false).
    assert shutdown.json()["detail"]["halted"] is True
    assert await system.of(VMShutDownByAdmin, vm="web")
    halted = await haplan("vm", "shutdown", "web", url=url)
    assert halted.code == 1 and "already halted" in halted.error_line()
    unknown = await haplan("vm", "shutdown", "nope", url=url)
    assert unknown.code == 2 and "no VM named 'nope'" in unknown.error_line()
    start = await haplan("vm", "start", "web", "--on", "h1", url=url)
    assert start.code == 0 and "Start of VM web on h1 ordered" in start.out, start.err
    restarted = await _started(system, "web", 3)
    assert restarted.host == "h1"
    # The operator's start of an admin-halted, unprotected VM is recorded as such, and
    # audit verify accepts it.
    await system.verified()
