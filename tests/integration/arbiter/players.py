"""What the arbiter tests play around the arbiter: hosts (collectors as the protocol describes
them, driven from the test), arbiter processes, and readers of the log, KV and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.kv import KeyValue
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel, ValidationError

from schemas.events import Event, HostJoined, LeaderElected, PoolCreated
from schemas.liveness import SignedRecord
from schemas.messages import (
    Beacon,
    FencedNotice,
    JoinAccepted,
    JoinRequest,
    NetworkHeartbeat,
    SlotReading,
    StartOrder,
    StoreObservation,
)
from schemas.pool import HAConfig
from schemas.slot import Slot as SlotBody
from services.common.eventstore import JetStreamEventStore, Recorded
from services.common.heartbeat_store import HeartbeatStore
from services.common.lease_bucket import host_lease_key
from services.common.lifetime import die_with_parent
from services.common.natsserver import free_port
from services.common.signing import HostSigner
from services.common.subjects import encode_token
from services.common.timers import Timers
from tests.fixtures.events import LAB_SIGNERS, lab_pool, make

T = 2.0  # ha.timeout_s of the test pool: a fence and a failover take a few seconds
TIMERS = Timers.from_timeout(T)
RENEWAL_WAIT_S = T / 2  # how long a host waits for its lease renewal's acknowledgement
REPO = Path(__file__).resolve().parents[3]

R = TypeVar("R")


# Each host's signing key, registered in lab_pool() (docs/protocol.md, Signed slots): the
# tests' one fixed-seed signer (services.sim.hostile.fixed_signer).
SIGNERS = LAB_SIGNERS


def lab_pool_created() -> PoolCreated:
    """The article's lab pool (Minion 1 protected on lab1) with T = 2 s and the hosts' keys."""
    pool = lab_pool()
    ha = HAConfig(host_failures_to_tolerate=1, timeout_s=T)
    pool = pool.model_copy(update={"ha": ha})
    return make(PoolCreated, epoch=0, pool=pool)


async def eventually(
    probe: Callable[[], Awaitable[R | None]], timeout: float, what: str, every: float = 0.1
) -> R:
    """Poll `probe` until it returns something, or fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        found = await probe()
        if found is not None and found is not False:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"within {timeout:g} s: {what}")
        await asyncio.sleep(every)


async def events(store: JetStreamEventStore) -> list[Recorded]:
    return [r async for r in store.read()]


async def first_event(
    store: JetStreamEventStore, kind: type[Event], test: Callable[[Event], bool] = lambda e: True
) -> Recorded | None:
    found = (r for r in await events(store) if isinstance(r.event, kind) and test(r.event))
    return next(found, None)


async def elected(store: JetStreamEventStore, arbiter: str, timeout: float = 30) -> LeaderElected:
    """The leader_elected of `arbiter`, once it is in the log."""

    def by_it(e: Event) -> bool:
        return isinstance(e, LeaderElected) and e.arbiter == arbiter

    recorded = await eventually(
        lambda: first_event(store, LeaderElected, by_it),
        timeout,
        f"arbiter {arbiter} records leader_elected",
    )
    assert isinstance(recorded.event, LeaderElected)
    return recorded.event


async def ready(proc: ArbiterProcess) -> None:
    """Wait until the arbiter process has opened the log and the bus."""

    async def said_ready() -> bool:
        return any(line.get("event") == "arbiter ready" for line in proc.log_lines())

    # Generous: a process starting on a loaded CI machine.
    await eventually(said_ready, 30, f"arbiter {proc.ident} is ready")


async def both_joined(store: JetStreamEventStore, hosts: list[Host]) -> None:
    """Wait until lab1 and lab2 joined: recorded, and each heard its acceptance."""

    async def joined() -> bool:
        names = {r.event.host for r in await events(store) if isinstance(r.event, HostJoined)}
        return names == {"lab1", "lab2"} and all(h.joined for h in hosts)

    await eventually(joined, 20, "lab1 and lab2 join the liveset")


async def next_update(watcher: KeyValue.KeyWatcher, timeout: float = 30) -> KeyValue.Entry | None:
    entry: KeyValue.Entry | None = await watcher.updates(timeout)  # type: ignore[no-untyped-call]
    return entry


async def stop_watching(watcher: KeyValue.KeyWatcher) -> None:
    await watcher.stop()  # type: ignore[no-untyped-call]


# Shared store ---------------------------------------------------------------------------------


@dataclass
class Slot:
    incarnation: str
    seq: int
    fenced: bool
    advanced_at: dict[str, float] = field(default_factory=dict)  # per observer's clock
    beacon: Beacon | None = None  # the newest beacon the writer had seen


class SharedStore:
    """The heartbeat store the hosts share: one slot per host, as each observer saw it; also
    written as real signed slot files under `directory` when one is given (what an arbiter
    started with `--store` reads)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.slots: dict[str, Slot] = {}
        self.directory = directory

    def write(
        self, host: str, incarnation: str, fenced: bool = False, beacon: Beacon | None = None
    ) -> None:
        old = self.slots.get(host)
        seq = 1 if old is None or old.incarnation != incarnation else old.seq + 1
        self.slots[host] = Slot(incarnation, seq, fenced, beacon=beacon)
        if self.directory is not None:
            files = HeartbeatStore(self.directory, SIGNERS[host])
            files.write(slot_body(host, self.slots[host]))

    def readings(self, observer: str, now: float) -> tuple[SlotReading, ...]:
        out = []
        for host, slot in sorted(self.slots.items()):
            since = slot.advanced_at.setdefault(f"{observer}@{slot.seq}", now)
            out.append(
                SlotReading(host=host, incarnation=slot.incarnation, seq=slot.seq,
                            stale_for_s=now - since, lease_ok=True, fenced=slot.fenced,
                            record=signed_record(host, slot))
            )  # fmt: skip
        return tuple(out)


def slot_body(host: str, slot: Slot) -> SlotBody:
    """The slot as its collector writes it to the store (what it signs)."""
    return SlotBody(
        host=host, incarnation=slot.incarnation, seq=slot.seq, uptime_s=0.0, lease_ok=True,
        store_ok=True, fenced=slot.fenced, beacon=slot.beacon,
    )  # fmt: skip


def signed_record(host: str, slot: Slot, signer: HostSigner | None = None) -> SignedRecord:
    """The slot as `signer` (the host's own key by default) signs it, as a collector writes."""
    return (signer or SIGNERS[host]).sign(slot_body(host, slot).model_dump_json())


# Hosts ----------------------------------------------------------------------------------------


class Host:
    """A host's collector as the protocol describes it: every interval it renews its lease in
    KV, writes its slot, heartbeats, reports what it reads in the store (echoing the newest
    beacon) and asks to join until accepted; it starts the VMs ordered for its incarnation."""

    def __init__(
        self, nc: Client, kv: KeyValue, store: SharedStore, name: str, vms: tuple[str, ...] = ()
    ) -> None:
        self.nc, self.kv, self.store, self.name = nc, kv, store, name
        self.incarnation = f"{name}-{uuid.uuid4().hex[:8]}"
        self.vms = set(vms)
        self.beacon: Beacon | None = None
        self.joined = False
        self.orders: list[StartOrder] = []
        self._seq = 0
        # False: cut from the bus (no renewal, nothing published) while it goes on writing its
        # slot, as a host staying on the outage rule does.
        self.on_bus = True
        self._task: asyncio.Task[None] | None = None
        self._subs: list[object] = []

    async def start(self) -> None:
        self._subs = [
            await self.nc.subscribe("ha.arb.beacon", cb=self._on_beacon),
            await self.nc.subscribe(f"ha.cmd.{encode_token(self.name)}", cb=self._on_command),
        ]
        self._task = asyncio.create_task(self._live())

    async def stop(self) -> None:
        """Power off: nothing more from this host."""
        if self._task is not None:
            # Cancelled again until it ends: on Python 3.11 asyncio.wait_for (the renewal's)
            # swallows a cancel that comes as its inner request completes, and the loop goes
            # on (a CI run's failover test hung here for 17 minutes).
            while not self._task.done():
                self._task.cancel()
                await asyncio.wait({self._task}, timeout=1.0)
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()  # type: ignore[attr-defined]
        self._subs = []

    async def fence(self) -> None:
        """Fence as a collector does: stop (no more renewals), its VMs killed, `fenced` in its
        slot and on the bus."""
        await self.stop()
        self.vms.clear()
        self.store.write(self.name, self.incarnation, fenced=True)
        notice = FencedNotice(host=self.name, incarnation=self.incarnation)
        await self.nc.publish(f"ha.fenced.{encode_token(self.name)}", _json(notice))
        await self.nc.flush()

    async def _on_beacon(self, msg: Msg) -> None:
        self.beacon = Beacon.model_validate_json(msg.data)

    async def _on_command(self, msg: Msg) -> None:
        with contextlib.suppress(ValidationError):
            accepted = JoinAccepted.model_validate_json(msg.data)
            if accepted.incarnation == self.incarnation:
                self.joined = True
            return
        order = StartOrder.model_validate_json(msg.data)
        self.orders.append(order)
        if order.incarnation == self.incarnation and order.host == self.name:
            self.vms.add(order.vm)

    async def _live(self) -> None:
        token = encode_token(self.name)
        while True:
            now = time.monotonic()
            self._seq += 1
            lease = json.dumps({"incarnation": self.incarnation, "seq": self._seq}).encode()
            # A renewal the bus does not answer is given up, as a collector's is, and the next
            # one tried an interval later: a host lives through a NATS outage.
            with contextlib.suppress(nats.errors.Error, TimeoutError, OSError):
                if self.on_bus:
                    put = self.kv.put(host_lease_key(self.name), lease, validate_keys=False)
                    await asyncio.wait_for(put, RENEWAL_WAIT_S)
            self.store.write(self.name, self.incarnation, beacon=self.beacon)
            if not self.on_bus:
                await asyncio.sleep(TIMERS.interval_s)
                continue
            hb = NetworkHeartbeat(
                host=self.name,
                incarnation=self.incarnation,
                seq=self._seq,
                lease_ok=True,
                store_ok=True,
                vms=tuple(sorted(self.vms)),
            )
            obs = StoreObservation(
                observer=self.name,
                incarnation=self.incarnation,
                beacon=self.beacon,
                readings=self.store.readings(self.name, now),
            )
            with contextlib.suppress(nats.errors.Error, OSError):
                await self.nc.publish(f"ha.hb.{token}", _json(hb))
                await self.nc.publish(f"ha.sto.{token}", _json(obs))
                if not self.joined and self.beacon is not None:
                    own = signed_record(self.name, self.store.slots[self.name])
                    req = JoinRequest(
                        host=self.name, incarnation=self.incarnation, beacon=self.beacon,
                        record=own,
                    )  # fmt: skip
                    await self.nc.publish(f"ha.join.{token}", _json(req))
            await asyncio.sleep(TIMERS.interval_s)


def _json(message: BaseModel) -> bytes:
    return message.model_dump_json().encode()


# Arbiter processes ----------------------------------------------------------------------------


class ArbiterProcess:
    """`haplan arbiter` as a real process, its JSON-line log kept in a file."""

    def __init__(self, url: str, ident: str, logs: Path, store: Path | None = None) -> None:
        self.ident = ident
        self.metrics_port = free_port()
        self.log_path = logs / f"{ident}.log"
        self._log = self.log_path.open("wb")
        # With `store`: the leader reads the slot files there itself (a plain directory).
        own = ("--store", str(store), "--store-local") if store is not None else ()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "arbiter", "--nats", url, "--id", ident,
             "--metrics-port", str(self.metrics_port), *own],
            cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=die_with_parent,
        )  # fmt: skip

    def kill(self) -> None:
        """Pull the plug: SIGKILL, no goodbye."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)

    def terminate(self, timeout: float = 10) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def close(self) -> None:
        self.kill()
        self._log.close()

    def log_lines(self) -> list[dict[str, object]]:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def metric(self, name: str, **labels: str) -> float:
        """A sample of this arbiter's /metrics (0 if it has none)."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as resp:
            text = resp.read().decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                wanted = all(sample.labels.get(k) == v for k, v in labels.items())
                if sample.name == name and wanted:
                    return float(sample.value)
        return 0.0


async def status(nc: Client, timeout: float = 10.0) -> dict[str, Any] | None:
    """The leader's answer to ha.op.status; None when nobody answers."""
    try:
        reply = await nc.request("ha.op.status", b"", timeout=timeout)
    except Exception:
        return None
    answer: dict[str, Any] = json.loads(reply.data)
    return answer
