"""What only the JetStream store does: the stream's shape, competing writers on the bus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from nats.aio.client import Client
from nats.js.api import StorageType, StreamConfig

from schemas.events import HostJoined
from services.common.bus import connect
from services.common.eventstore import ConcurrencyConflict, JetStreamEventStore
from services.common.natsserver import NatsServer
from services.common.settings import BusSettings
from services.common.subjects import EVENT_SUBJECTS, STREAM
from tests.fixtures.events import make


async def _client(server: NatsServer) -> Client:
    return await connect(BusSettings(nats_url=server.url), name="test", initial_timeout_s=5)


@pytest.fixture
async def clients(nats_server: NatsServer) -> AsyncIterator[tuple[Client, Client]]:
    a, b = await _client(nats_server), await _client(nats_server)
    yield a, b
    await a.close()
    await b.close()


async def test_the_stream_is_a_durable_append_only_log(nats_client: Client) -> None:
    """HA_EVENTS captures ha.evt.>, on file storage, with atomic batches, deduplication,
    and no way to delete or purge events."""
    await JetStreamEventStore.open(nats_client, replicas=1)
    config = (await nats_client.jetstream().stream_info(STREAM)).config
    assert config.subjects == [EVENT_SUBJECTS]
    assert config.storage == StorageType.FILE
    assert config.num_replicas == 1
    assert config.allow_atomic is True
    assert config.duplicate_window == pytest.approx(120)
    assert config.deny_delete is True and config.deny_purge is True


async def test_opening_again_keeps_the_log(nats_client: Client) -> None:
    """A second open (another service starting) finds the stream and its events."""
    first = await JetStreamEventStore.open(nats_client)
    await first.append([make(HostJoined, host="h", incarnation="b")], 0)
    second = await JetStreamEventStore.open(nats_client)
    assert await second.last_seq() == 1


async def test_an_append_nobody_answers_yet_is_asked_again_within_the_timeout(
    nats_client: Client,
) -> None:
    """An append that no stream answers (the stream not there yet, as on a cluster where a
    new stream's interest has not reached this server) is asked again until the stream
    answers within the request timeout: the events land once, at the expected sequence."""
    store = await JetStreamEventStore.open(nats_client, request_timeout_s=10)
    js = nats_client.jetstream()
    config = (await js.stream_info(STREAM)).config
    await js.delete_stream(STREAM)

    async def create_later() -> None:
        await asyncio.sleep(1.0)
        await js.add_stream(config)

    creating = asyncio.create_task(create_later())
    events = [make(HostJoined, host="h", incarnation=f"b{i}") for i in range(2)]
    assert await store.append(events, 0) == 2
    await creating
    assert (await js.stream_info(STREAM)).state.messages == 2


async def test_a_stream_without_atomic_batches_is_upgraded(nats_client: Client) -> None:
    """A stream created without allow_atomic (older tooling) gets it on open, so multi-event
    appends work."""
    js = nats_client.jetstream()
    await js.add_stream(StreamConfig(name=STREAM, subjects=[EVENT_SUBJECTS]))
    store = await JetStreamEventStore.open(nats_client)
    events = [make(HostJoined, host="h", incarnation=f"b{i}") for i in range(3)]
    assert await store.append(events, 0) == 3


async def test_a_deposed_writer_cannot_append(clients: tuple[Client, Client]) -> None:
    """Two writers on two connections read the same log; once one appends, the other's
    append at the old sequence is refused with the new last sequence."""
    old_leader = await JetStreamEventStore.open(clients[0])
    new_leader = await JetStreamEventStore.open(clients[1])
    seen = await old_leader.last_seq()
    assert await new_leader.append([make(HostJoined, host="h", incarnation="new")], seen) == 1
    with pytest.raises(ConcurrencyConflict) as info:
        await old_leader.append([make(HostJoined, host="h", incarnation="old")], seen)
    assert info.value.actual == 1


async def test_racing_appends_at_one_sequence_have_exactly_one_winner(
    clients: tuple[Client, Client],
) -> None:
    """Many appends racing for the same expected sequence: one lands, the rest conflict."""
    stores = [await JetStreamEventStore.open(c) for c in clients]

    async def attempt(i: int) -> bool:
        events = [make(HostJoined, host=f"h{i}", incarnation=f"b{j}") for j in range(1 + i % 3)]
        try:
            await stores[i % 2].append(events, 0)
            return True
        except ConcurrencyConflict:
            return False

    results = await asyncio.gather(*(attempt(i) for i in range(12)))
    assert results.count(True) == 1
    winner = results.index(True)
    assert await stores[0].last_seq() == 1 + winner % 3


async def test_a_read_whose_consumer_stops_delivering_reads_on_from_a_new_one(
    nats_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read of the log to its end whose consumer delivers the first event and then nothing
    more (as one whose server lost it, or whose reset failed under load) does not wait
    forever: a new consumer from the next event replaces it, and the read returns every
    event, each once, in order. Before, the read waited for good (a CI run's test hung 300 s
    on one)."""
    store = await JetStreamEventStore.open(nats_client, replicas=1)
    events = [make(HostJoined, host=f"h{i}", incarnation="a") for i in range(3)]
    for seq, event in enumerate(events):
        await store.append([event], seq)
    subscribe = store._subscribe
    starts: list[int] = []

    async def first_one_delivers_once(start: int, queue: asyncio.Queue[Any]) -> Any:
        starts.append(start)
        if len(starts) > 1:
            return await subscribe(start, queue)
        delivered: list[Any] = []

        async def put(msg: Any) -> None:
            if not delivered:
                delivered.append(msg)
                await queue.put(msg)

        return await subscribe(start, SimpleNamespace(put=put))  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_subscribe", first_one_delivers_once)
    read = await asyncio.wait_for(_all(store), 60)
    assert [r.seq for r in read] == [1, 2, 3]
    assert [r.event.event_id for r in read] == [e.event_id for e in events]
    assert starts == [1, 2]


async def _all(store: JetStreamEventStore) -> list[Any]:
    return [r async for r in store.read()]
