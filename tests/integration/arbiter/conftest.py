"""Fixtures of the arbiter tests: a real nats-server holding the lab pool (T = 2 s), the lease
bucket, the shared heartbeat store, hosts and arbiter processes cleaned up whatever happens."""

from __future__ import annotations

import asyncio
import io
import warnings
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pytest
from nats.aio.client import Client
from nats.js.kv import KeyValue

from services.arbiter.leases import open_bucket
from services.common.eventstore import JetStreamEventStore
from services.common.natsserver import NatsServer
from tests.fixtures.nats import connect_to
from tests.integration.arbiter.players import (
    TIMERS,
    ArbiterProcess,
    Host,
    SharedStore,
    lab_pool_created,
)


class Spawn(Protocol):
    def __call__(self, ident: str, store: Path | None = None) -> ArbiterProcess: ...


@dataclass
class Pool:
    url: str
    nc: Client
    store: JetStreamEventStore
    kv: KeyValue
    shared: SharedStore = field(default_factory=SharedStore)
    hosts: list[Host] = field(default_factory=list)

    async def host(self, name: str, vms: tuple[str, ...] = ()) -> Host:
        host = Host(self.nc, self.kv, self.shared, name, vms)
        self.hosts.append(host)
        await host.start()
        return host


async def open_pool(url: str, nc: Client) -> Pool:
    """The lab pool in a fresh event log, and the `ha_leases` bucket, over the client `nc`
    (the caller's: a test that restarts the server brings a reconnecting one)."""
    store = await JetStreamEventStore.open(nc)
    await store.append([lab_pool_created()], 0)
    return Pool(url, nc, store, await open_bucket(nc.jetstream(), TIMERS))


async def close_pool(nc: Client, pool: Pool | None) -> None:
    """Stops the pool's hosts (if it was opened) and closes its client, each step bounded."""
    try:
        for host in pool.hosts if pool is not None else ():
            await bounded(host.stop(), f"stopping host {host.name}")
    finally:
        await bounded(nc.close(), "closing the test's NATS client")


@pytest.fixture
async def pool(nats_server: NatsServer, tmp_path: Path) -> AsyncIterator[Pool]:
    """The lab pool in a fresh event log, and the `ha_leases` bucket; the hosts' slots are
    also written as files in `tmp_path/store` (for an arbiter given `--store`)."""
    nc = await connect_to(nats_server.url)
    p: Pool | None = None
    try:
        p = await open_pool(nats_server.url, nc)
        (tmp_path / "store").mkdir()
        p.shared.directory = tmp_path / "store"
        yield p
    finally:
        await close_pool(nc, p)


async def bounded(step: Awaitable[None], what: str, timeout: float = 10) -> None:
    """A teardown step that cannot hang the run: past `timeout` it is abandoned with a
    warning naming it and where every task was."""
    try:
        await asyncio.wait_for(step, timeout)
    except TimeoutError:
        stacks = io.StringIO()
        for task in asyncio.all_tasks():
            task.print_stack(file=stacks)
        message = f"teardown: {what} took over {timeout:g} s\n{stacks.getvalue()}"
        warnings.warn(message, stacklevel=1)


@pytest.fixture
def spawn_arbiter(nats_server: NatsServer, tmp_path: Path) -> Iterator[Spawn]:
    """Starts `haplan arbiter --id ID` processes (`--store DIR` too when given one); all killed
    at the end of the test, their logs printed (pytest shows them when the test fails)."""
    started: list[ArbiterProcess] = []

    def spawn(ident: str, store: Path | None = None) -> ArbiterProcess:
        proc = ArbiterProcess(nats_server.url, ident, tmp_path, store)
        started.append(proc)
        return proc

    try:
        yield spawn
    finally:
        for proc in started:
            proc.close()
            print(f"--- log of arbiter {proc.ident} ---")
            print(proc.log_path.read_text(errors="replace")[-6000:])
