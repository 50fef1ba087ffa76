"""A pool at vSphere's scale (96 hosts, 10,000 VMs) through a real nats-server with haplan's
own limits (max_payload 512 KB): its pool_created event is about 2 MB, cut into fragments
(docs/protocol.md, Large events). Created, exported and replayed by the operator's commands;
and an append the bus cannot carry is refused with its size and the limit, exit 2, nothing
appended. Timings are printed (bench/ has the figures), never asserted."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.pools import vsphere_pool
from schemas import Pool, dump_pool, load_pool
from schemas.events import PlanComputed, PoolCreated, encode_event
from services.common.bus import connect
from services.common.eventstore import JetStreamEventStore
from services.common.natsserver import NatsServer
from services.common.replay import rebuild_state
from services.common.settings import BusSettings
from services.common.subjects import subject_for
from services.deploy.natsconf import render_limits
from services.planner import max_failures
from services.planner.service.service import PlannerService
from services.state import to_pool
from tests.integration.cli.runner import haplan

pytestmark = pytest.mark.slow


def _server(tmp: Path, limits: str) -> Iterator[NatsServer]:
    tmp.mkdir(parents=True, exist_ok=True)
    conf = tmp / "limits.conf"
    conf.write_text(limits)
    server = NatsServer(store_dir=tmp / "data", config=conf)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def limited_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A nats-server with the limits every haplan server has (deploy/nats/node.conf)."""
    yield from _server(tmp_path, render_limits())


@pytest.fixture(scope="module")
def big_pool(tmp_path_factory: pytest.TempPathFactory) -> tuple[Pool, Path]:
    pool = vsphere_pool("HA-sized", seed=1)
    path = tmp_path_factory.mktemp("pools") / "vsphere.json"
    path.write_text(dump_pool(pool, "json"))
    return pool, path


async def _replayed(url: str) -> tuple[Pool | None, int, int]:
    nc = await connect(BusSettings(nats_url=url), name="test", initial_timeout_s=5)
    try:
        store = await JetStreamEventStore.open(nc, replicas=1)
        rebuilt = await rebuild_state(store)
        pool = to_pool(rebuilt.state) if rebuilt.state.exists else None
        return pool, rebuilt.last_seq, store.malformed
    finally:
        await nc.close()


async def test_a_96_by_10000_pool_is_created_exported_and_replayed(
    limited_server: NatsServer, big_pool: tuple[Pool, Path], tmp_path: Path
) -> None:
    """`haplan pool create` of a 96 x 10,000 pool succeeds under the 512 KB limit; the log
    holds one event in several messages; `haplan pool export` and a replay of the log give
    back the very pool of the file; loading it again is a no-op; `haplan audit verify`
    accepts the log."""
    pool, path = big_pool
    url = limited_server.url
    started = time.perf_counter()
    created = await haplan("pool", "create", str(path), "--json", url=url, timeout=120)
    create_s = time.perf_counter() - started
    assert created.code == 0, created.err
    answer = created.json()
    assert answer["created"] is True and answer["vms"] == 10_000 and answer["hosts"] == 96
    assert answer["seq"] > 1, "a 2 MB event cannot be one 512 KB message"

    # Read-only from here on: export, verify and the repeated create run side by side.
    started = time.perf_counter()
    out = tmp_path / "exported.json"
    exported, verify, again = await asyncio.gather(
        haplan("pool", "export", str(out), url=url, timeout=120),
        haplan("audit", "verify", "--json", url=url, timeout=120),
        haplan("pool", "create", str(path), "--json", url=url, timeout=120),
    )
    readers_s = time.perf_counter() - started
    assert exported.code == 0, exported.err
    assert load_pool(out) == pool
    assert verify.code == 0, verify.err + verify.out
    assert again.code == 0 and again.json()["created"] is False, again.err

    started = time.perf_counter()
    replayed, last_seq, malformed = await _replayed(url)
    replay_s = time.perf_counter() - started
    assert replayed == pool and last_seq == answer["seq"] and malformed == 0
    print(
        f"\n96 x 10,000: pool create {create_s:.1f} s; pool export, audit verify and create "
        f"again side by side {readers_s:.1f} s; replay {replay_s:.1f} s ({answer['seq']} "
        "messages)"
    )


async def test_an_append_the_bus_cannot_carry_is_refused_naming_size_and_limit(
    tmp_path: Path, big_pool: tuple[Pool, Path]
) -> None:
    """On a server whose max_payload (3,000 bytes) would need more fragments than one atomic
    batch may hold (1,000), `haplan pool create` exits 2 with one line naming the append's
    size and the limits (not "check JetStream", exit 69), and the log stays empty."""
    _pool, path = big_pool
    gen = _server(tmp_path, "max_payload: 3000\n")
    server = next(gen)
    try:
        run = await haplan("pool", "create", str(path), url=server.url, timeout=120)
        assert run.code == 2, run.err
        line = run.error_line()
        assert "bytes needs" in line and "3,000 bytes" in line and "1000 per atomic" in line
        assert "JetStream did not answer" not in line
        replayed, last_seq, _ = await _replayed(server.url)
        assert replayed is None and last_seq == 0
    finally:
        gen.close()


async def test_a_pool_created_stored_whole_replays_as_its_fragments_do(
    tmp_path: Path, limited_server: NatsServer, big_pool: tuple[Pool, Path]
) -> None:
    """A log written before fragments (one pool_created message, on a server whose limit
    allowed it) and a log holding the same event in fragments replay to the same pool, the
    same origin and the same last sequence as the event's: old logs read as they always did."""
    pool, _path = big_pool
    event = PoolCreated(event_id=str(uuid.uuid4()), at=datetime.now(UTC), epoch=0, pool=pool)
    payload = encode_event(event)
    nc = await connect(BusSettings(nats_url=limited_server.url), name="t", initial_timeout_s=5)
    try:
        store = await JetStreamEventStore.open(nc, replicas=1)
        fragmented_seq = await store.append([event], 0)
        fragmented = await rebuild_state(store)
    finally:
        await nc.close()
    assert fragmented_seq > 1
    gen = _server(tmp_path / "old", f"max_payload: {8 * 1024 * 1024}\n")
    old_server = next(gen)
    try:
        nc = await connect(BusSettings(nats_url=old_server.url), name="t", initial_timeout_s=5)
        try:
            store = await JetStreamEventStore.open(nc, replicas=1)
            # What an older haplan published: the event as one message, no fragment header.
            ack = await nc.request(
                subject_for(event), payload, timeout=30, headers={"Nats-Msg-Id": event.event_id}
            )
            assert b'"seq":1' in ack.data
            whole = await rebuild_state(store)
            malformed = store.malformed
        finally:
            await nc.close()
    finally:
        gen.close()
    assert malformed == 0 and whole.last_seq == 1
    assert whole.state.origin == fragmented.state.origin == pool
    assert to_pool(whole.state) == to_pool(fragmented.state) == pool
    assert fragmented.last_seq == fragmented_seq


async def test_the_planner_service_plans_the_96_by_10000_pool_from_the_bus(
    limited_server: NatsServer, big_pool: tuple[Pool, Path]
) -> None:
    """A planner replica reads the fragmented pool_created from the log and records its plan
    on the bus (plan_computed, based on the event's sequence), with the answer the planner
    gives for the pool file (max_failures offline)."""
    pool, _path = big_pool
    event = PoolCreated(event_id=str(uuid.uuid4()), at=datetime.now(UTC), epoch=0, pool=pool)
    settings = BusSettings(nats_url=limited_server.url)
    nc = await connect(settings, name="t", initial_timeout_s=5)
    planner_nc = await connect(settings, name="t-planner", initial_timeout_s=5)
    replica = PlannerService(planner_nc, settings, "big-p1")
    try:
        store = await JetStreamEventStore.open(nc, replicas=1)
        seq = await store.append([event], 0)
        started = time.perf_counter()
        await replica.start()
        plans: list[PlanComputed] = []
        deadline = started + 180
        while not plans and time.perf_counter() < deadline:
            await asyncio.sleep(0.5)
            plans = [
                r.event async for r in store.read(seq + 1) if isinstance(r.event, PlanComputed)
            ]
        plan_s = time.perf_counter() - started
    finally:
        await asyncio.wait_for(replica.stop(), 30)
        await planner_nc.close()
        await nc.close()
    assert plans, "no plan recorded within 180 s"
    offline = max_failures(pool)
    [plan] = plans
    assert plan.based_on_seq == seq
    assert (plan.max_host_failures_to_tolerate, plan.upper_bound, plan.exact) == (
        offline.max_host_failures_to_tolerate,
        offline.upper_bound,
        offline.exact,
    )
    print(f"\n96 x 10,000: the planner service recorded its plan {plan_s:.1f} s after it started")
