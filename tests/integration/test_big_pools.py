"""A pool at vSphere's scale (96 hosts, 10,000 VMs) through a real nats-server with haplan's
own limits (max_payload 512 KB): its pool_created event is about 2 MB, cut into fragments
(docs/protocol.md, Large events). Created, exported and replayed by the operator's commands;
and an append the bus cannot carry is refused with its size and the limit, exit 2, nothing
appended. Timings are printed (bench/ has the figures), never asserted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.pools import vsphere_pool
from schemas import Pool, dump_pool, load_pool
from services.common.bus import connect
from services.common.eventstore import JetStreamEventStore
from services.common.natsserver import NatsServer
from services.common.replay import rebuild_state
from services.common.settings import BusSettings
from services.deploy.natsconf import render_limits
from services.state import to_pool
from tests.integration.cli.runner import haplan

pytestmark = pytest.mark.slow


def _server(tmp: Path, limits: str) -> Iterator[NatsServer]:
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

    started = time.perf_counter()
    out = tmp_path / "exported.json"
    exported = await haplan("pool", "export", str(out), url=url, timeout=120)
    export_s = time.perf_counter() - started
    assert exported.code == 0, exported.err
    assert load_pool(out) == pool

    started = time.perf_counter()
    replayed, last_seq, malformed = await _replayed(url)
    replay_s = time.perf_counter() - started
    assert replayed == pool and last_seq == answer["seq"] and malformed == 0

    again = await haplan("pool", "create", str(path), "--json", url=url, timeout=120)
    assert again.code == 0 and again.json()["created"] is False, again.err
    started = time.perf_counter()
    verify = await haplan("audit", "verify", "--json", url=url, timeout=120)
    verify_s = time.perf_counter() - started
    assert verify.code == 0, verify.err + verify.out
    print(
        f"\n96 x 10,000: pool create {create_s:.1f} s, pool export {export_s:.1f} s, "
        f"replay {replay_s:.1f} s ({answer['seq']} messages), audit verify {verify_s:.1f} s"
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
