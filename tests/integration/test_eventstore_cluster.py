"""The event log on a 3-node JetStream cluster (R3): it survives the loss of a node."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import nats.js.errors
import pytest
from nats.aio.client import Client

from schemas.events import EventBase, HostJoined
from services.common.bus import connect
from services.common.eventstore import EventStoreUnavailable, JetStreamEventStore
from services.common.natsserver import NatsCluster
from services.common.settings import BusSettings
from services.common.subjects import STREAM
from tests.fixtures.events import make

pytestmark = pytest.mark.slow


@pytest.fixture
async def cluster_client(nats_cluster: NatsCluster) -> AsyncIterator[Client]:
    nc = await connect(BusSettings(nats_url=nats_cluster.url), name="t", initial_timeout_s=5)
    # The cluster is shared by the module: start each test on a fresh log.
    js = nc.jetstream()
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await js.delete_stream(STREAM)
    yield nc
    await nc.close()


async def _append_retrying(
    store: JetStreamEventStore, events: list[EventBase], expected: int, within_s: float
) -> int:
    """Append, retrying while the stream elects a leader (retries are safe by contract)."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            return await store.append(events, expected)  # type: ignore[arg-type]
        except EventStoreUnavailable:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.25)


async def test_r3_log_is_written_on_one_node_and_read_on_another(
    nats_cluster: NatsCluster, cluster_client: Client
) -> None:
    """With replicas=3 the stream has three peers; what one node's client appends, a client
    of another node reads."""
    writer = await JetStreamEventStore.open(cluster_client, replicas=3)
    info = await cluster_client.jetstream().stream_info(STREAM)
    assert info.config.num_replicas == 3
    assert info.cluster is not None and len(info.cluster.replicas or []) == 2
    events = [make(HostJoined, host="h", incarnation=f"b{i}") for i in range(3)]
    assert await writer.append(events, 0) == 3
    other = await connect(
        BusSettings(nats_url=nats_cluster.urls[2]), name="reader", initial_timeout_s=5
    )
    try:
        reader = JetStreamEventStore(other)
        assert [r.event async for r in reader.read()] == events
    finally:
        await other.close()


async def test_the_log_survives_losing_its_stream_leader(
    nats_cluster: NatsCluster, cluster_client: Client
) -> None:
    """Killing the node that leads the stream loses no event, and appends resume once the
    two others elect a new leader."""
    # Short requests: an append to the dead leader times out fast and is retried.
    store = await JetStreamEventStore.open(cluster_client, replicas=3, request_timeout_s=1)
    before = [make(HostJoined, host="h", incarnation=f"b{i}") for i in range(5)]
    await store.append(before, 0)
    info = await cluster_client.jetstream().stream_info(STREAM)
    assert info.cluster is not None
    leader = next(s for s in nats_cluster.servers if s.name == info.cluster.leader)
    leader.kill()
    killed_at = time.monotonic()
    try:
        after = [make(HostJoined, host="h", incarnation="after")]
        assert await _append_retrying(store, after, 5, within_s=20) == 6
        print(f"appends resumed {time.monotonic() - killed_at:.1f} s after the leader died")
        assert [r.event async for r in store.read()] == [*before, *after]
    finally:
        leader.start()
