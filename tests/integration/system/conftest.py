"""A whole pool on a real nats-server: real `haplan collector` processes (process VMs and
process watchdogs on one shared store directory) and a real `haplan arbiter`, T = 2 s.
Everything is killed at the end of the test, pass or fail."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats.errors
import pytest
from nats.aio.client import Client

from schemas.events import Event, PoolCreated
from schemas.ops import OpReply, op_subject
from schemas.pool import Pool
from services.collector.leftovers import leftover_vms
from services.common.eventstore import JetStreamEventStore, Recorded
from services.common.natsserver import NatsServer
from tests.fixtures.events import make
from tests.fixtures.nats import connect_to
from tests.integration.arbiter.players import ArbiterProcess
from tests.integration.collector.harness import CollectorProcess, eventually

T = 2.0


@dataclass
class System:
    url: str
    nc: Client
    store: JetStreamEventStore
    shared: Path
    logs: Path
    collectors: dict[str, CollectorProcess] = field(default_factory=dict)
    arbiters: list[ArbiterProcess] = field(default_factory=list)

    async def start(self, pool: Pool) -> None:
        await self.store.append([make(PoolCreated, epoch=0, pool=pool)], 0)
        # The arbiter reads the shared store too: the leader judges stillness from its own reads.
        self.arbiters.append(ArbiterProcess(self.url, "arb-1", self.logs, self.shared))
        for host in pool.host_names:
            collector = CollectorProcess(host, self.shared, self.url, self.nc)
            self.collectors[host] = collector
            await collector.start("--vm-driver", "process", "--watchdog", "process")

    async def events(self) -> list[Recorded]:
        return [r async for r in self.store.read()]

    async def of(self, kind: type[Event], **fields: Any) -> list[Event]:
        return [
            r.event
            for r in await self.events()
            if isinstance(r.event, kind)
            and all(getattr(r.event, k) == v for k, v in fields.items())
        ]

    async def wait_for(self, kind: type[Event], timeout: float, **fields: Any) -> Event:
        async def probe() -> Event | None:
            found = await self.of(kind, **fields)
            return found[0] if found else None

        deadline = asyncio.get_running_loop().time() + timeout
        while (found := await probe()) is None:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no {kind.__name__} {fields} within {timeout:g} s")
            await asyncio.sleep(0.1)
        return found

    async def verified(self) -> None:
        """`haplan audit verify` reproduces every decision this run recorded (invariant 4)."""
        from services.audit import verify

        report = verify(await self.events())
        assert report.ok, report.to_json()

    async def op(self, verb: str, body: dict[str, Any] | bytes | None = None) -> OpReply:
        """The leader's reply to one operator request. "No responders" means no arbiter
        subscribed when it was sent, so nothing was carried out: at T = 2 s a busy machine
        can delay a lease renewal past the lease time, the leader steps down and wins the
        lease again a moment later. The request is then sent again, within the same 20 s."""
        data = body if isinstance(body, bytes) else json.dumps(body or {}).encode()
        deadline = asyncio.get_running_loop().time() + 20
        while True:
            left = deadline - asyncio.get_running_loop().time()
            try:
                msg = await self.nc.request(op_subject(verb), data, timeout=max(left, 0.1))
            except nats.errors.NoRespondersError:
                if left <= 0:
                    raise
                await asyncio.sleep(0.2)
                continue
            return OpReply.model_validate_json(msg.data)

    async def leading(self) -> None:
        """Once the leader answers operator requests."""

        async def answers() -> bool:
            with contextlib.suppress(Exception):
                msg = await self.nc.request(op_subject("status"), b"{}", timeout=1)
                return bool(json.loads(msg.data).get("ok"))
            return False

        deadline = asyncio.get_running_loop().time() + 30
        while not await answers():
            assert asyncio.get_running_loop().time() < deadline, "no arbiter leads"
            await asyncio.sleep(0.2)

    def vm_pid(self, host: str, vm: str) -> int | None:
        disk = self.shared / "disks" / f"{vm}.log"
        for pid in leftover_vms(host, self.shared / "disks"):
            with contextlib.suppress(OSError):
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                if str(disk).encode() in argv:
                    return pid
        return None

    async def power_off(self, host: str) -> None:
        """Pull the power: SIGKILL the collector, its watchdog and its VMs."""
        collector = self.collectors[host]
        collector._note_children()
        assert collector.proc is not None
        collector.proc.kill()
        for pid in {*collector._kids, *collector.vm_pids()}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        await eventually(lambda: not collector.vm_pids(), 30, f"{host}'s VMs are gone")


@pytest.fixture
async def system(nats_server: NatsServer, tmp_path: Path) -> AsyncIterator[System]:
    nc = await connect_to(nats_server.url)
    shared = tmp_path / "store"
    shared.mkdir()
    store = await JetStreamEventStore.open(nc)
    sys_ = System(nats_server.url, nc, store, shared, tmp_path)
    try:
        yield sys_
    finally:
        for collector in sys_.collectors.values():
            await collector.cleanup()
        for arbiter in sys_.arbiters:
            arbiter.close()
            print(f"--- log of arbiter {arbiter.ident} ---")
            print(arbiter.log_path.read_text(errors="replace")[-4000:])
        await nc.close()
