"""ONE contract for both event stores: the in-memory one and JetStream on a real nats-server.

Every test here runs against both; a behaviour the JetStream store has and the in-memory one
lacks (or the reverse) fails here.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import structlog

from schemas.events import (
    EventBase,
    HostJoined,
    NtolSet,
    PoolCreated,
    VMCreated,
    VMStarted,
    encode_event,
)
from services.common.bus import connect
from services.common.eventstore import (
    MAX_APPEND,
    ConcurrencyConflict,
    DuplicateEvent,
    EventStore,
    InMemoryEventStore,
    JetStreamEventStore,
    Recorded,
)
from services.common.logging import configure_logging
from services.common.replay import rebuild_state
from services.common.settings import BusSettings
from tests.fixtures.events import T0, lab_pool, make

V1_PAYLOAD = Path(__file__).parents[1] / "fixtures" / "vm_created_v1.json"
S = timedelta(seconds=1)


@dataclass
class Subject:
    store: EventStore
    put_raw: Callable[
        [str, bytes], Awaitable[None]
    ]  # any bytes on a subject, like a foreign writer


@pytest.fixture(params=["memory", "jetstream"])
async def subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    if request.param == "memory":
        memory = InMemoryEventStore()

        async def put_memory(subject: str, data: bytes) -> None:
            memory.append_raw(subject, data)

        yield Subject(memory, put_memory)
        return
    server = request.getfixturevalue("nats_server")
    nc = await connect(BusSettings(nats_url=server.url), name="contract", initial_timeout_s=5)
    try:
        store = await JetStreamEventStore.open(nc)

        async def put_nats(subject: str, data: bytes) -> None:
            await nc.request(subject, data, timeout=5)  # the stream's ack: stored

        yield Subject(store, put_nats)
    finally:
        await nc.close()


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Structured log output of the test, as JSON lines."""
    out = io.StringIO()
    configure_logging("info", stream=out, tty=False)
    yield out
    structlog.reset_defaults()


def joins(n: int, host: str = "lab1") -> list[EventBase]:
    return [make(HostJoined, host=host, incarnation=f"boot-{i}") for i in range(n)]


async def read_all(store: EventStore, from_seq: int = 1) -> list[Recorded]:
    return [r async for r in store.read(from_seq)]


async def test_an_empty_log_has_nothing_to_read(subject: Subject) -> None:
    """A new log: last sequence 0, reading yields nothing."""
    assert await subject.store.last_seq() == 0
    assert await read_all(subject.store) == []


async def test_appends_are_read_back_in_order_with_their_sequences(subject: Subject) -> None:
    """Each append returns the new last sequence; a read returns every event, equal to what
    was appended, numbered from 1, on its aggregate's subject."""
    store = subject.store
    first = make(PoolCreated, epoch=0, pool=lab_pool())
    rest = [make(VMStarted, vm="Minion 1", host="lab2", incarnation="b", instance="i"),
            make(NtolSet, host_failures_to_tolerate=0)]  # fmt: skip
    assert await store.append([first], 0) == 1
    assert await store.append(rest, 1) == 3
    assert await store.last_seq() == 3
    records = await read_all(store)
    assert [r.seq for r in records] == [1, 2, 3]
    assert [r.event for r in records] == [first, *rest]
    assert [r.subject for r in records] == ["ha.evt.pool", "ha.evt.vm.Minion%201", "ha.evt.pool"]


async def test_reading_starts_at_any_sequence(subject: Subject) -> None:
    """read(n) starts at sequence n; past the end it yields nothing."""
    events = joins(5)
    await subject.store.append(events, 0)
    assert [r.event for r in await read_all(subject.store, 3)] == events[2:]
    assert await read_all(subject.store, 6) == []


async def test_a_read_ends_at_the_last_event_at_the_time_of_the_call(subject: Subject) -> None:
    """Events appended while a read is going on are not part of it (follow is for that)."""
    await subject.store.append(joins(3), 0)
    seen = []
    async for recorded in subject.store.read():
        seen.append(recorded.seq)
        if recorded.seq == 1:
            await subject.store.append(joins(2), 3)
    assert seen == [1, 2, 3]


@pytest.mark.parametrize("stale", [0, 2, 5])
async def test_a_wrong_expected_sequence_is_a_conflict_naming_the_actual_one(
    subject: Subject, stale: int
) -> None:
    """Appending at a sequence other than the last (behind or ahead) raises
    ConcurrencyConflict with the actual last sequence, and writes nothing."""
    await subject.store.append(joins(3), 0)
    with pytest.raises(ConcurrencyConflict) as info:
        await subject.store.append(joins(1, "lab2"), stale)
    assert (info.value.expected, info.value.actual) == (stale, 3)
    assert await subject.store.last_seq() == 3


async def test_a_conflicting_batch_writes_none_of_its_events(subject: Subject) -> None:
    """A multi-event append is atomic: on conflict, no event of it is in the log."""
    await subject.store.append(joins(2), 0)
    with pytest.raises(ConcurrencyConflict):
        await subject.store.append(joins(10, "lab2"), 1)
    assert await subject.store.last_seq() == 2
    assert all(r.event.host == "lab1" for r in await read_all(subject.store))  # type: ignore[union-attr]


@pytest.mark.parametrize("size", [1, 4])
async def test_retrying_an_append_that_landed_is_a_success(subject: Subject, size: int) -> None:
    """The same events at the same expected sequence again (a lost ack) return the same last
    sequence and add nothing, even after another writer appended meanwhile."""
    store = subject.store
    await store.append(joins(1), 0)
    events = joins(size, "lab2")
    assert await store.append(events, 1) == 1 + size
    assert await store.append(events, 1) == 1 + size
    await store.append(joins(2), 1 + size)
    assert await store.append(events, 1) == 1 + size
    assert await store.last_seq() == 3 + size


async def test_a_partially_matching_retry_is_still_a_conflict(subject: Subject) -> None:
    """Only the exact same events at the same place count as a retry."""
    events = joins(3)
    await subject.store.append(events, 0)
    with pytest.raises(ConcurrencyConflict):
        await subject.store.append([*events[:2], *joins(1, "lab2")], 0)


async def test_an_event_id_already_in_the_log_is_refused(subject: Subject) -> None:
    """Appending an event whose id the log already holds elsewhere raises DuplicateEvent."""
    old = joins(1)
    await subject.store.append(old, 0)
    await subject.store.append(joins(1), 1)
    with pytest.raises(DuplicateEvent):
        await subject.store.append(old, 2)
    with pytest.raises(DuplicateEvent):
        await subject.store.append([*joins(1, "lab2"), *old], 2)
    assert await subject.store.last_seq() == 2


async def test_invalid_appends_are_refused_before_writing(subject: Subject) -> None:
    """Empty appends, too many events, one id twice or a negative sequence are caller bugs:
    ValueError, and the log is untouched."""
    one = joins(1)
    cases: list[tuple[list[EventBase], int, str]] = [
        ([], 0, "at least one event"),
        (joins(MAX_APPEND + 1), 0, "at most 1000 events"),
        ([*one, *one], 0, "same event id twice"),
        (joins(1), -1, "must be >= 0"),
    ]
    for events, expected, message in cases:
        with pytest.raises(ValueError, match=message):
            await subject.store.append(events, expected)  # type: ignore[arg-type]
    assert await subject.store.last_seq() == 0


async def test_the_largest_append_lands_whole(subject: Subject) -> None:
    """MAX_APPEND events in one append all land, in order."""
    events = joins(MAX_APPEND)
    assert await subject.store.append(events, 0) == MAX_APPEND
    assert [r.event for r in await read_all(subject.store)] == events


async def test_follow_yields_the_log_then_each_new_event(subject: Subject) -> None:
    """follow(n) gives the events from n, then events appended later, as they come."""
    store = subject.store
    await store.append(joins(2), 0)
    later = joins(2, "lab2")
    seen: list[Recorded] = []

    async def tail() -> None:
        async for recorded in store.follow(2):
            seen.append(recorded)
            if len(seen) == 3:
                return

    task = asyncio.create_task(tail())
    await asyncio.sleep(0.2)
    await store.append(later[:1], 2)
    await store.append(later[1:], 3)
    await asyncio.wait_for(task, 10)
    assert [r.seq for r in seen] == [2, 3, 4]
    assert [r.event for r in seen[1:]] == later


async def test_unreadable_messages_are_skipped_counted_and_logged(
    subject: Subject, log_lines: io.StringIO
) -> None:
    """Garbage, unknown types and future versions on event subjects are skipped by readers
    (the events around them still come), counted, and logged with their sequence."""
    store = subject.store
    await store.append(joins(1), 0)
    await subject.put_raw("ha.evt.host.lab1", b"\x00 not json")
    await subject.put_raw("ha.evt.pool", b'{"type": "pool_exploded", "schema_version": 1}')
    await subject.put_raw("ha.evt.pool", b'{"type": "ntol_set", "schema_version": 7}')
    await store.append(joins(1, "lab2"), 4)
    records = await read_all(store)
    assert [r.seq for r in records] == [1, 5]
    assert store.malformed == 3
    logged = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    skipped = [entry for entry in logged if entry["event"] == "unreadable event skipped"]
    assert [(e["sequence"], e["subject"]) for e in skipped] == [
        (2, "ha.evt.host.lab1"),
        (3, "ha.evt.pool"),
        (4, "ha.evt.pool"),
    ]
    assert "unknown event type 'pool_exploded'" in skipped[1]["reason"]
    assert skipped[0]["level"] == "warning"


async def test_unreadable_messages_do_not_stop_the_fold(subject: Subject) -> None:
    """rebuild_state folds every readable event around unreadable ones, and reports the
    log's real last sequence so that the next append does not conflict."""
    store = subject.store
    await store.append([make(PoolCreated, epoch=0, pool=lab_pool())], 0)
    await subject.put_raw("ha.evt.host.lab1", b"{}")
    await store.append([make(HostJoined, host="lab1", incarnation="b1")], 2)
    await subject.put_raw("ha.evt.host.lab2", b"nonsense")
    rebuilt = await rebuild_state(store)
    assert rebuilt.state.hosts["lab1"].liveness == "live"
    assert rebuilt.last_seq == 4
    assert await store.append(joins(1, "lab2"), rebuilt.last_seq) == 5


async def test_old_versions_are_upcast_when_read(subject: Subject) -> None:
    """A version-1 VMCreated stored in the log reads as the current VMCreated."""
    await subject.put_raw("ha.evt.vm.Minion%201", V1_PAYLOAD.read_bytes())
    (record,) = await read_all(subject.store)
    assert isinstance(record.event, VMCreated)
    assert record.event.spec.memory_overhead_mib == 0
    assert subject.store.malformed == 0


async def test_event_times_never_go_backwards_in_the_log(subject: Subject) -> None:
    """An event stamped by a clock stepped back is stored with the time of the event before
    it: after one at +10 s, an append at +0 s reads back at +10 s. That holds when the store
    knows the previous event (its own append) and when another writer appended it (a raw
    message at +20 s): the batch after it (+5, +30, +25) reads back +20, +30, +30."""
    store = subject.store
    assert await store.append([make(NtolSet, host_failures_to_tolerate=1, at=T0 + S * 10)], 0)
    assert await store.append([make(NtolSet, host_failures_to_tolerate=0, at=T0)], 1) == 2
    foreign = make(NtolSet, host_failures_to_tolerate=1, at=T0 + S * 20)
    await subject.put_raw("ha.evt.pool", encode_event(foreign))
    batch = [make(NtolSet, host_failures_to_tolerate=0, at=T0 + S * s) for s in (5, 30, 25)]
    assert await store.append(batch, 3) == 6
    times = [(r.event.at - T0).total_seconds() for r in await read_all(store)]
    assert times == [10, 10, 20, 20, 30, 30]
