"""The arbiter across a restart of its only nats-server: the leader elected after it hears the
hosts' lease renewals again, so nobody is suspected for the outage."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from schemas.events import Event, HostDeclaredDead, HostFenced, HostSuspected, LeaderElected
from services.common.bus import connect
from services.common.natsserver import NatsServer
from services.common.settings import BusSettings
from tests.integration.arbiter.conftest import Pool, close_pool, open_pool
from tests.integration.arbiter.players import (
    TIMERS,
    ArbiterProcess,
    both_joined,
    elected,
    events,
    eventually,
    first_event,
)


async def test_after_a_server_restart_the_new_leader_hears_renewals_and_suspects_no_one(
    nats_server: NatsServer, spawn_arbiter: Callable[[str], ArbiterProcess]
) -> None:
    """The only nats-server is killed for longer than the leader lease and started again on
    its JetStream directory; lab1 and lab2 keep renewing their leases, given up while the bus
    is gone. The arbiter loses the lease in the outage and is elected again after it; for
    T_dead and more after that election no host is suspected, fenced or declared dead: the
    new leader hears the renewals made after the restart (its watch of the host leases, whose
    consumer the server lost, starts over on reconnection)."""
    nc = await connect(BusSettings(nats_url=nats_server.url), name="test hosts")
    pool: Pool | None = None
    try:
        pool = await open_pool(nats_server.url, nc)
        store = pool.store
        spawn_arbiter("a1")
        first = await elected(store, "a1")
        await pool.host("lab1", ("Minion 1",))
        await pool.host("lab2")
        await both_joined(store, pool.hosts)

        nats_server.kill()
        await asyncio.sleep(TIMERS.leader_lease_s + 1.0)  # the leader's lease runs out
        nats_server.start()

        def after_restart(e: Event) -> bool:
            return isinstance(e, LeaderElected) and e.epoch > first.epoch

        await eventually(
            lambda: first_event(store, LeaderElected, after_restart), 30, "a leader again"
        )
        # Without renewals heard, the new leader would suspect both hosts T after its election.
        await asyncio.sleep(TIMERS.t_dead_s + 2 * TIMERS.interval_s)
        bad = (HostSuspected, HostFenced, HostDeclaredDead)
        found = [r.event for r in await events(store) if isinstance(r.event, bad)]
        assert found == []
    finally:
        await close_pool(nc, pool)
