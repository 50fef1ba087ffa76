"""A flood from one collector credential on a whole pool (issue 14): real collectors with
process VMs, a real arbiter, a real nats-server (T = 2 s). Heartbeats of h3, padded to 17 KB and
900 KB, at full speed for 3 T on h3's own subject, which the arbiter and every peer collector
subscribe to: no host suspected, no election, nobody fenced or declared dead."""

from __future__ import annotations

import asyncio

from schemas.events import (
    HostDeclaredDead,
    HostFenced,
    HostJoined,
    HostSuspected,
    LeaderElected,
    VMStarted,
)
from schemas.pool import VM, HAConfig, Host, Pool
from tests.integration.arbiter.flooder import flood_from_a_process
from tests.integration.system.conftest import System, T

FLOOD_S = 3 * T
MOST_MESSAGES = 50_000


async def test_a_flood_on_one_hosts_heartbeat_subject_harms_no_host(system: System) -> None:
    """After the flood and 2 T more, the log holds no suspicion, fence, death or second
    election, and every collector is still running."""
    hosts = ("h1", "h2", "h3")
    vm = VM(name="web", memory_mib=256, host="h1", ha_restart_priority="restart")
    await system.start(Pool(name="flood", ha=HAConfig(host_failures_to_tolerate=1, timeout_s=T),
                            hosts=tuple(Host(name=h, memory_mib=4096) for h in hosts),
                            vms=(vm,)))  # fmt: skip
    for host in hosts:
        await system.wait_for(HostJoined, 30, host=host)
    await system.wait_for(VMStarted, 30, vm="web")
    before = len(await system.events())

    await flood_from_a_process(system.url, "h3", FLOOD_S, MOST_MESSAGES)
    await asyncio.sleep(2 * T)

    after = [r.event for r in (await system.events())[before:]]
    harmful = (HostSuspected, HostFenced, HostDeclaredDead, LeaderElected)
    bad = [e for e in after if isinstance(e, harmful)]
    assert bad == [], [(e.type, getattr(e, "host", getattr(e, "arbiter", ""))) for e in bad]
    for host, collector in system.collectors.items():
        assert collector.proc is not None and collector.proc.poll() is None, host
