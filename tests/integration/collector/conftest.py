"""A lab around one collector: a real nats-server behind a cuttable proxy, the two-host test pool
in the event log, a shared store directory, the test playing the arbiter and a peer."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nats.aio.client import Client

from schemas.events import PoolCreated
from schemas.pool import HAConfig, Host, Pool
from services.common.eventstore import JetStreamEventStore
from services.common.natsserver import NatsServer
from services.faults import CuttableProxy
from tests.fixtures.nats import connect_to
from tests.integration.collector.harness import CollectorProcess, FakeArbiter, FakePeer, T

POOL = Pool(
    name="Collector lab",
    ha=HAConfig(timeout_s=T, host_failures_to_tolerate=1),
    hosts=(Host(name="lab1", memory_mib=16384), Host(name="lab2", memory_mib=16384)),
)


async def create_pool(nc: Client, pool: Pool = POOL) -> None:
    store = await JetStreamEventStore.open(nc)
    event = PoolCreated(event_id=str(uuid.uuid4()), at=datetime.now(UTC), epoch=0, pool=pool)
    await store.append([event], 0)


@dataclass
class Lab:
    server: NatsServer
    proxy: CuttableProxy
    nc: Client
    store: Path
    arbiter: FakeArbiter
    peer: FakePeer
    spawn: Callable[..., Awaitable[CollectorProcess]]

    @property
    def proxy_url(self) -> str:
        return f"nats://127.0.0.1:{self.proxy.port}"


@pytest.fixture
async def empty_lab(nats_server: NatsServer, tmp_path: Path) -> AsyncIterator[Lab]:
    """Everything but the pool: the event log is empty."""
    proxy = CuttableProxy("127.0.0.1", nats_server.port)
    await proxy.start()
    nc = await connect_to(nats_server.url)
    store = tmp_path / "store"
    store.mkdir()
    arbiter = FakeArbiter(nc)
    peer = FakePeer(nc, "lab2", store)
    spawned: list[CollectorProcess] = []

    async def spawn(
        host: str = "lab1",
        *extra: str,
        module: str = "services.cli.main",
        env: dict[str, str] | None = None,
    ) -> CollectorProcess:
        collector = CollectorProcess(
            host, store, f"nats://127.0.0.1:{proxy.port}", nc, module=module, env=env or {}
        )
        spawned.append(collector)
        await collector.start(*extra)
        return collector

    try:
        yield Lab(nats_server, proxy, nc, store, arbiter, peer, spawn)
    finally:
        for collector in spawned:
            await collector.cleanup()
        await peer.stop()
        await arbiter.stop()
        await nc.close()
        await proxy.close()


@pytest.fixture
async def lab(empty_lab: Lab) -> Lab:
    """The test pool (lab1, lab2; T = 2 s) in the log, the arbiter beaconing, the peer lab2
    alive on the store and the bus."""
    await create_pool(empty_lab.nc)
    await empty_lab.arbiter.start()
    empty_lab.peer.start()
    return empty_lab
