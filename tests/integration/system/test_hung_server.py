"""A hung NATS server with a whole pool connected (issue 14, docs/protocol.md "A hung server,
late heartbeats, floods"): the real nats-server SIGSTOPped under real `haplan collector`
processes and a real `haplan arbiter` (T = 2 s). tests/integration/test_bus_pings.py shows
the client's pings alone; this shows what the services make of them.

Deadlines are generous; the tests assert order and outcome, and print the figures."""

from __future__ import annotations

import asyncio
import time

from schemas.events import HostDeclaredDead, HostFenced, HostSuspected, VMStarted
from schemas.pool import VM, HAConfig, Host, Pool
from services.common.natsserver import NatsServer
from tests.fixtures.nats import frozen
from tests.integration.arbiter.players import ArbiterProcess, status
from tests.integration.collector.harness import eventually
from tests.integration.system.conftest import System, T

HOSTS = ("h1", "h2")
DISCONNECTED = "nats disconnected"


def _pool() -> Pool:
    return Pool(
        name="hung",
        ha=HAConfig(host_failures_to_tolerate=1, timeout_s=T),
        hosts=tuple(Host(name=h, memory_mib=4096) for h in HOSTS),
        vms=(
            VM.model_validate(
                {"name": "web", "memory_mib": 256, "host": "h1", "ha_restart_priority": "restart"}
            ),
        ),
    )




def _late(arbiter: ArbiterProcess) -> float:
    """Heartbeats the arbiter received and ignored as delivered late, over the pool's hosts."""
    name = "haplan_arbiter_dropped_messages_total"
    return sum(arbiter.metric(name, host=h, reason="late") for h in HOSTS)


async def _all_live(system: System) -> bool:
    answer = await status(system.nc, timeout=2)
    if answer is None or not answer.get("leader"):
        return False
    return {h["name"]: h["state"] for h in answer["hosts"]} == dict.fromkeys(HOSTS, "live")


async def _until_live(system: System, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + 60
    while not await _all_live(system):
        assert asyncio.get_running_loop().time() < deadline, f"not within 60 s: {what}"
        await asyncio.sleep(0.2)


async def _live_pool(system: System) -> int:
    """Start the pool; once web runs on h1 and both hosts are live, its process id."""
    await system.start(_pool())
    await system.wait_for(VMStarted, 120, vm="web")
    await _until_live(system, "the pool live")
    pid = system.vm_pid("h1", "web")
    assert pid is not None
    return pid


async def test_a_short_freeze_delivers_heartbeats_late_and_the_arbiter_ignores_them(
    system: System, nats_server: NatsServer
) -> None:
    """The server is frozen for 1 s, less than the PONG slack (2 s) every client allows, so
    no connection is given up: the heartbeats the collectors wrote meanwhile sit in the
    server's sockets and are delivered when it continues, each echoing a beacon sent before
    the freeze, older than F = 3 intervals. The arbiter counts them dropped as `late` rather
    than taking them; nobody is suspected, fenced or declared dead."""
    await _live_pool(system)
    [arbiter] = system.arbiters
    since = len(await system.events())
    late_before = _late(arbiter)
    with frozen(nats_server):
        time.sleep(1.0)  # the freeze itself (below the 2 s a PONG may be late), not a wait
    await eventually(lambda: _late(arbiter) > late_before, 30, "late heartbeats dropped")
    print(f"heartbeats dropped as late after a 1 s freeze: {_late(arbiter) - late_before:g}")
    await _until_live(system, "the pool live after the freeze")
    recorded = [r.event for r in await system.events()][since:]
    bad = [e for e in recorded if isinstance(e, HostSuspected | HostFenced | HostDeclaredDead)]
    assert bad == [], bad


async def test_a_hung_server_is_noticed_by_every_service_and_fences_no_one(
    system: System, nats_server: NatsServer
) -> None:
    """The server is frozen until every collector and the arbiter have given their
    connection up (their logs say `nats disconnected`: their pings, sized from T, noticed
    it; a client on nats-py's defaults would wait 2 minutes), then continued. Every host lost
    the bus and kept the store: a global bus outage, in which the table fences no one. Every
    service reconnects; nobody is fenced or declared dead, no collector exits, web's process
    on h1 is the one from before, and the audit accepts every decision."""
    pid = await _live_pool(system)
    [arbiter] = system.arbiters
    since = len(await system.events())
    logs = {h: len(c.log()) for h, c in system.collectors.items()}
    arbiter_log = len(arbiter.log_path.read_text(errors="replace"))

    def noticed() -> list[str]:
        who = [h for h, c in system.collectors.items() if DISCONNECTED in c.log()[logs[h] :]]
        if DISCONNECTED in arbiter.log_path.read_text(errors="replace")[arbiter_log:]:
            who.append(arbiter.ident)
        return who

    everyone = [*HOSTS, arbiter.ident]
    with frozen(nats_server):
        start = time.monotonic()
        # Waits while frozen: `eventually` must not use the bus (it only reads the logs).
        await eventually(lambda: sorted(noticed()) == sorted(everyone), 30, "all noticed")
        print(f"every service gave the frozen server up within {time.monotonic() - start:.2f} s")
    await _until_live(system, "the pool live again")
    recorded = [r.event for r in await system.events()][since:]
    bad = [e for e in recorded if isinstance(e, HostFenced | HostDeclaredDead)]
    assert bad == [], bad
    for host, collector in system.collectors.items():
        assert collector.proc is not None and collector.proc.poll() is None, collector.tail()
        assert "reconnected" in collector.log()[logs[host] :], collector.tail()
    assert system.vm_pid("h1", "web") == pid, "web was stopped and started again"
    print(f"heartbeats dropped as late: {_late(arbiter):g}")
    await system.verified()
