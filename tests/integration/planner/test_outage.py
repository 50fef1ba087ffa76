"""A replica outlives its NATS server: killed and started again, the server finds the replica
following the log and recording plans as before."""

from __future__ import annotations

import asyncio

from schemas.events import NtolSet, PoolCreated
from services.common.eventstore import JetStreamEventStore
from services.common.natsserver import NatsServer
from tests.fixtures.events import lab_pool, make
from tests.fixtures.nats import connect_to
from tests.integration.planner.conftest import Bus


async def test_a_replica_keeps_recording_after_the_server_restarts(
    nats_server: NatsServer,
) -> None:
    """NATS killed (the log kept on disk) and started again on the same port: the replica
    reconnects, follows the log again and records the plan of a change made after."""
    nc = await connect_to(nats_server.url)
    bus = Bus(nats_server.url, nc, await JetStreamEventStore.open(nc))
    try:
        replica = await bus.planner("p1")
        seq = await bus.append(make(PoolCreated, epoch=0, pool=lab_pool()))
        await bus.plan_after(seq)
        await nc.close()
        nats_server.kill()
        await asyncio.sleep(1.0)
        nats_server.start()
        bus.nc = await connect_to(nats_server.url)
        bus.store = await JetStreamEventStore.open(bus.nc)
        seq = await bus.append(make(NtolSet, epoch=0, host_failures_to_tolerate=0))
        # Before the reader's missed heartbeats (10 to 20 s) would have restarted it; 10 s
        # is the shortest a test may wait on a loaded machine.
        after = await bus.plan_after(seq, timeout=10)
        assert [r.event.type for r in after] == ["plan_computed"]
        assert replica.view.state.ha.host_failures_to_tolerate == 0
    finally:
        await bus.close()
        await bus.nc.close()
