"""Playing the rest of the pool around one real `haplan collector` process.

The collector runs as a subprocess with NATS_URL pointing at a CuttableProxy in front of a
real nats-server, so a test can pull its network cable. The test plays the arbiter (beacons,
join acceptances, orders on ha.cmd.<host>) and a peer host (slots in the store, heartbeats on
the bus). Everything runs on the test's event loop (the proxy pumps there): tests wait with
`asyncio.sleep`, never with a blocking call.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg

from schemas.messages import Beacon, JoinAccepted, NetworkHeartbeat, StartOrder
from schemas.reports import HostReport, StopOrder
from schemas.slot import Slot
from services.collector.leftovers import leftover_vms
from services.common.heartbeat_store import HeartbeatStore
from services.common.lifetime import die_with_parent
from services.common.natsserver import free_port
from services.common.subjects import encode_token

T = 2.0  # ha.timeout_s of the test pool: interval 0.2 s, watchdog at T + 0.4 s
INTERVAL = T / 10


async def eventually(
    predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.05
) -> Any:
    """Poll `predicate` until it returns something truthy; fail naming `what`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        await asyncio.sleep(every)


def pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    kids.append(int(entry.name))
    return kids


@dataclass
class CollectorProcess:
    """One `haplan collector` subprocess and what it says on the bus."""

    host: str
    store: Path
    nats_url: str
    nc: Client
    metrics_port: int = field(default_factory=free_port)
    # What runs it: the real CLI, or a test seam around it (tests/integration/collector).
    module: str = "services.cli.main"
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    reports: list[HostReport] = field(default_factory=list)
    _subs: list[Any] = field(default_factory=list)
    _kids: set[int] = field(default_factory=set)

    @property
    def log_path(self) -> Path:
        return self.store.parent / f"collector-{self.host}-{id(self)}.log"

    async def start(self, *extra: str) -> None:
        async def on_report(msg: Msg) -> None:
            self.reports.append(HostReport.model_validate_json(msg.data))

        self._subs.append(
            await self.nc.subscribe(f"ha.report.{encode_token(self.host)}", cb=on_report)
        )
        await self.nc.flush()
        env = {**os.environ, **self.env, "NATS_URL": self.nats_url}
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module, "collector", "--host", self.host,
                 "--store", str(self.store), "--store-local",  # a temporary directory
                 "--metrics-port", str(self.metrics_port),
                 "--metrics-addr", "127.0.0.1", *extra],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                preexec_fn=die_with_parent,  # gone with the run, even a killed one
            )  # fmt: skip

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 20) -> str:
        """The end of its log, for assertion messages."""
        return "\n".join(self.log().splitlines()[-lines:])

    def last(self) -> HostReport | None:
        return self.reports[-1] if self.reports else None

    async def report(
        self, predicate: Callable[[HostReport], bool], timeout: float, what: str
    ) -> HostReport:
        def found() -> HostReport | None:
            self._note_children()
            return next((r for r in reversed(self.reports) if predicate(r)), None)

        report: HostReport = await eventually(
            found, timeout, f"{self.host} reports {what}\n{self.tail()}"
        )
        return report

    async def member(self, timeout: float = 15.0) -> HostReport:
        return await self.report(lambda r: r.phase == "member", timeout, "phase member")

    async def exit_status(self, timeout: float) -> int:
        assert self.proc is not None
        proc = self.proc
        await eventually(lambda: proc.poll() is not None, timeout, f"{self.host} exits")
        return int(proc.returncode)

    def metrics(self) -> dict[str, float]:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=2) as resp:
            text = resp.read().decode()
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def vm_pids(self) -> list[int]:
        return leftover_vms(self.host, self.store / "disks")

    def children_alive(self) -> list[int]:
        """Processes the collector started (its watchdog, its VMs) that still run."""
        return [pid for pid in self._kids if pid_alive(pid)]

    def _note_children(self) -> None:
        # Remembered while the collector lives: once it dies they are re-parented.
        if self.proc is not None and self.proc.poll() is None:
            self._kids.update(_children(self.proc.pid))

    async def cleanup(self) -> None:
        """Kill the collector, its watchdog and its VMs, whatever state the test left."""
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        if self.proc is not None:
            self._note_children()
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.proc.pid, signal.SIGCONT)
                self.proc.kill()
            await eventually(lambda: self.proc is None or self.proc.poll() is not None, 10,
                             "collector killed")  # fmt: skip
        for pid in {*self._kids, *self.vm_pids()}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


class FakeArbiter:
    """The leader, as far as one collector can tell: beacons, join acceptances, orders."""

    def __init__(self, nc: Client, accept_joins: bool = True) -> None:
        self.nc = nc
        self.accept_joins = accept_joins
        self.joins: list[dict[str, Any]] = []
        self.fenced: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._subs: list[Any] = []

    async def start(self) -> None:
        async def on_join(msg: Msg) -> None:
            request = json.loads(msg.data)
            self.joins.append(request)
            if self.accept_joins:
                accepted = JoinAccepted(host=request["host"], incarnation=request["incarnation"])
                await self.command(request["host"], accepted.model_dump_json().encode())

        async def on_fenced(msg: Msg) -> None:
            self.fenced.append(json.loads(msg.data))

        self._subs.append(await self.nc.subscribe("ha.join.*", cb=on_join))
        self._subs.append(await self.nc.subscribe("ha.fenced.*", cb=on_fenced))
        self._task = asyncio.create_task(self._beacons())

    async def _beacons(self) -> None:
        seq = 0
        while True:
            seq += 1
            beacon = Beacon(leader="test-arbiter", term=1, seq=seq)
            await self.nc.publish("ha.arb.beacon", beacon.model_dump_json().encode())
            await asyncio.sleep(INTERVAL)

    async def command(self, host: str, payload: bytes) -> None:
        await self.nc.publish(f"ha.cmd.{encode_token(host)}", payload)
        await self.nc.flush()

    async def start_vm(self, host: str, incarnation: str, vm: str) -> str:
        order_id = f"order-{uuid.uuid4().hex[:8]}"
        order = StartOrder(order_id=order_id, vm=vm, host=host, incarnation=incarnation)
        await self.command(host, order.model_dump_json().encode())
        return order_id

    async def stop_vm(self, host: str, incarnation: str, vm: str) -> None:
        order = StopOrder(action="shutdown", order_id=f"stop-{uuid.uuid4().hex[:8]}", vm=vm,
                          host=host, incarnation=incarnation)  # fmt: skip
        await self.command(host, order.model_dump_json().encode())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()


class FakePeer:
    """Another host of the pool: its slot in the store and its heartbeats on the bus, saying
    what the test wants (`store_ok`, `lease_ok`)."""

    def __init__(self, nc: Client, host: str, store: Path) -> None:
        self.nc, self.host = nc, host
        self.store = HeartbeatStore(store)
        self.store_ok = True
        self.lease_ok = True
        self.writes_slot = True  # off: its slot file is left as it is (a test replaced it)
        self.incarnation = str(uuid.uuid4())
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        seq = 0
        while True:
            seq += 1
            slot = Slot(host=self.host, incarnation=self.incarnation, seq=seq,
                        uptime_s=seq * INTERVAL, lease_ok=self.lease_ok,
                        store_ok=self.store_ok)  # fmt: skip
            if self.writes_slot:
                with contextlib.suppress(OSError):
                    self.store.write(slot)
            hb = NetworkHeartbeat(host=self.host, incarnation=self.incarnation, seq=seq,
                                  lease_ok=self.lease_ok, store_ok=self.store_ok)  # fmt: skip
            await self.nc.publish(f"ha.hb.{encode_token(self.host)}", hb.model_dump_json().encode())
            await asyncio.sleep(INTERVAL)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def break_store(store: Path) -> None:
    """Make the heartbeat store unusable: `ha` becomes a file, so slot writes and listings
    fail as on a lost mount (no root needed)."""
    ha = store / "ha"
    if ha.is_dir():
        ha.rename(store / f"ha.lost-{uuid.uuid4().hex[:6]}")
    ha.write_text("not a directory\n")


def heal_store(store: Path) -> None:
    ha = store / "ha"
    if ha.is_file():
        ha.unlink()
    ha.mkdir(exist_ok=True)
