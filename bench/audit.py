"""Audit benchmark: replay and verify a 200,000-event log.

    .venv/bin/python bench/audit.py [--events 200000] [--seed 1] [--no-bus]

The log is a consistent day in a 16-host pool of 128 VMs: mostly VM lifecycle (guest halts,
restart orders, starts) and heartbeat-driven decisions (hosts suspected and rejoining, hosts
fencing, declared dead, their VMs restarted in restart order, the host rejoining with a new
incarnation), with a plan recorded after every change of the liveset or every 500 events.
Every decision in it is right, so verify must agree with all of them.

Prints events/s for replay (decode + fold) and verify (decode + fold + every re-check), from
an export file and from a private nats-server, and the time of `haplan audit verify --file`
as an operator runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schemas.events import (
    Event,
    HostDeclaredDead,
    HostFenced,
    HostJoined,
    HostRejoined,
    HostSuspected,
    PlanComputed,
    PoolCreated,
    VMHaltedByGuest,
    VMRestartOrdered,
    VMStarted,
)
from schemas.liveness import DeadEvidence, FencedMark, SuspectEvidence
from schemas.pool import VM, HAConfig, Host, Pool
from services.audit import Entry, PlannerCache, Verifier, decode_line, encode_line, fit_on
from services.common.bus import connect
from services.common.eventstore import JetStreamEventStore
from services.common.logging import configure_logging
from services.common.natsserver import NatsServer
from services.common.replay import rebuild_state
from services.common.settings import BusSettings
from services.common.timers import Timers
from services.state import HANDLERS, PoolState, to_pool

HOSTS = 16
VMS = 128
T0 = datetime(2026, 1, 1, tzinfo=UTC)
TIMERS = Timers.from_timeout(30.0)
PLAN_EVERY = 500


def bench_pool(rng: random.Random) -> Pool:
    hosts = tuple(Host(name=f"host {i:02d}", memory_mib=131072, reserved_mib=4096)
                  for i in range(HOSTS))  # fmt: skip
    vms = tuple(
        VM(name=f"VM {i:03d}", memory_mib=rng.choice((2048, 4096, 8192, 16384)),
           memory_overhead_mib=64, host=hosts[i % HOSTS].name,
           ha_restart_priority="restart" if i % 8 else "best-effort", order=i % 4,
           anti_affinity=f"web-{i % 4}" if i % 16 == 0 else None)
        for i in range(VMS)
    )  # fmt: skip
    return Pool(name="Bench pool", ha=HAConfig(host_failures_to_tolerate=2), hosts=hosts, vms=vms)


class Day:
    """Builds the log while folding it, so that every decision is taken on the state it
    will be verified on."""

    def __init__(self, n: int, seed: int) -> None:
        self.n = n
        self.rng = random.Random(seed)
        self.state = PoolState()
        self.events: list[Event] = []
        self.planner = PlannerCache()
        self.boots: dict[str, int] = {}

    def emit(self, cls: type, *, epoch: int = 7, **fields: object) -> Event:
        at = T0 + timedelta(milliseconds=50 * len(self.events))
        event: Event = cls(event_id=str(uuid.uuid4()), at=at, epoch=epoch, **fields)
        self.state = HANDLERS[type(event)](self.state, event)
        self.events.append(event)
        return event

    def incarnation(self, host: str) -> str:
        return f"{host}/boot-{self.boots.get(host, 0)}"

    def plan(self) -> None:
        pool = to_pool(self.state)
        cap = self.planner.capacity(pool)
        self.emit(PlanComputed, based_on_seq=len(self.events),
                  max_host_failures_to_tolerate=cap.max_host_failures_to_tolerate,
                  upper_bound=cap.upper_bound, exact=cap.exact,
                  worst_failure_set=cap.worst_failure_set,
                  host_failures_to_tolerate=cap.host_failures_to_tolerate)  # fmt: skip

    def place(self, vm: str, exclude: str) -> str | None:
        hosts = [h for h in self.state.liveset if h != exclude]
        self.rng.shuffle(hosts)
        return next((h for h in hosts if fit_on(self.state, vm, h).fits), None)

    def restart(self, vm: str, host: str) -> None:
        inc = self.incarnation(host)
        self.emit(VMRestartOrdered, vm=vm, host=host, incarnation=inc, plan="restart")
        self.emit(VMStarted, vm=vm, host=host, incarnation=inc, instance=f"i-{len(self.events)}")

    def move(self) -> None:
        running = [v for v in self.state.vms.values() if v.host is not None]
        vm = self.rng.choice(running)
        assert vm.host is not None
        target = self.place(vm.name, exclude=vm.host)
        if target is None:
            return
        self.emit(VMHaltedByGuest, vm=vm.name, host=vm.host)
        self.restart(vm.name, target)

    def hiccup(self) -> None:
        host = self.rng.choice(self.state.liveset)
        inc = self.incarnation(host)
        silent = TIMERS.timeout_s + self.rng.uniform(0.1, 5)
        self.emit(HostSuspected, host=host, evidence=SuspectEvidence(
            incarnation=inc, lease_silent_for_s=silent, timeout_s=TIMERS.timeout_s))  # fmt: skip
        self.emit(HostRejoined, host=host, incarnation=inc)
        if self.rng.random() < 0.2:
            self.plan()  # the liveset changed twice; the pool did not: a cache hit

    def failure(self) -> None:
        host = self.rng.choice(self.state.liveset)
        inc = self.incarnation(host)
        mark = FencedMark(source="slot", observer="host 00", incarnation=inc)
        self.emit(HostSuspected, host=host, evidence=SuspectEvidence(
            incarnation=inc, lease_silent_for_s=31.0, timeout_s=TIMERS.timeout_s))  # fmt: skip
        self.emit(HostFenced, host=host, mark=mark)
        self.emit(HostDeclaredDead, host=host, evidence=DeadEvidence(
            rule="fenced", incarnation=inc, t_dead_s=TIMERS.t_dead_s, leader_for_s=3600.0,
            lease_silent_for_s=4.0, fenced_mark=mark))  # fmt: skip
        waiting = sorted((v for v in self.state.vms.values() if v.power_state == "restarting"),
                         key=lambda v: (v.spec.order, v.name))  # fmt: skip
        for vm in waiting:
            target = self.place(vm.name, exclude=host)
            if target is not None:
                self.restart(vm.name, target)
        self.boots[host] = self.boots.get(host, 0) + 1
        self.emit(HostJoined, host=host, incarnation=self.incarnation(host))
        self.plan()

    def build(self) -> list[Event]:
        self.emit(PoolCreated, epoch=0, pool=bench_pool(self.rng))
        for host in self.state.hosts:
            self.emit(HostJoined, host=host, incarnation=self.incarnation(host))
        self.plan()
        next_plan = PLAN_EVERY
        while len(self.events) < self.n:
            r = self.rng.random()
            if r < 0.80:
                self.move()
            elif r < 0.995:
                self.hiccup()
            else:
                self.failure()
            if len(self.events) >= next_plan:
                self.plan()
                next_plan += PLAN_EVERY
        return self.events[: self.n]


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>10,.0f} events/s ({seconds:.2f} s)"


def verify_file(path: Path) -> Verifier:
    verifier = Verifier()
    with path.open("rb") as f:
        for line in f:
            verifier.feed(decode_line(line))
    return verifier


async def over_the_bus(events: list[Event]) -> tuple[float, float, Verifier]:
    with NatsServer() as server:
        settings = BusSettings(nats_url=server.url)
        nc = await connect(settings, name="bench-writer", initial_timeout_s=5)
        store = await JetStreamEventStore.open(nc)
        seq = 0
        for k in range(0, len(events), 1000):
            seq = await store.append(events[k : k + 1000], seq)
        await nc.close()
        nc = await connect(settings, name="bench-reader", initial_timeout_s=5)
        reader = JetStreamEventStore(nc)
        started = time.perf_counter()
        await rebuild_state(reader)
        replay_s = time.perf_counter() - started
        verifier = Verifier()
        started = time.perf_counter()
        async for recorded in reader.read():
            verifier.feed(recorded)
        verify_s = time.perf_counter() - started
        await nc.close()
    return replay_s, verify_s, verifier


def summary(verifier: Verifier) -> str:
    report = verifier.report()
    assert report.ok and not report.unconfirmed, report.to_json()
    kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(report.checked.items()))
    return (f"{report.decisions:,} decisions re-checked, all agree ({kinds}); planner runs "
            f"{report.planner_runs:,}, cache hits {report.planner_cache_hits:,}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-bus", action="store_true", help="skip the nats-server figures")
    args = parser.parse_args()
    configure_logging("warning")
    n = args.events
    print(f"building {n:,} events ...", flush=True)
    events = Day(n, args.seed).build()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ha.jsonl"
        started = time.perf_counter()
        with path.open("wb") as f:
            for seq, event in enumerate(events, start=1):
                f.write(encode_line(seq, event) + b"\n")
        print(f"export file (encode+write):      {rate(n, time.perf_counter() - started)}")

        started = time.perf_counter()
        state = PoolState()
        with path.open("rb") as f:
            for line in f:
                entry = decode_line(line)
                state = HANDLERS[type(entry.event)](state, entry.event)
        print(f"replay from file (decode+fold):  {rate(n, time.perf_counter() - started)}")
        assert state.ignored == 0, state.ignored

        started = time.perf_counter()
        verifier = verify_file(path)
        print(f"verify from file:                {rate(n, time.perf_counter() - started)}")
        print(f"  {summary(verifier)}")

        entries = [Entry(seq, e) for seq, e in enumerate(events, start=1)]
        started = time.perf_counter()
        in_memory = Verifier()
        in_memory.feed_all(entries)
        print(f"verify, no decoding:             {rate(n, time.perf_counter() - started)}")
        no_plans = [e for e in entries if not isinstance(e.event, PlanComputed)]
        started = time.perf_counter()
        Verifier().feed_all(no_plans)
        elapsed = time.perf_counter() - started
        print(f"  the same without its {n - len(no_plans):,} plans: {rate(len(no_plans), elapsed)}")

        started = time.perf_counter()
        cli = subprocess.run(
            [sys.executable, "-m", "services.cli.main", "audit", "verify", "--file", str(path),
             "--json"], capture_output=True, text=True,
        )  # fmt: skip
        cli_s = time.perf_counter() - started
        assert cli.returncode == 0, cli.stderr
        print(f"`haplan audit verify --file`:    {rate(n, cli_s)} incl. start-up")

    if not args.no_bus:
        replay_s, verify_s, bus_verifier = asyncio.run(over_the_bus(events))
        print(f"replay over NATS (rebuild_state): {rate(n, replay_s)}")
        print(f"verify over NATS:                {rate(n, verify_s)}")
        summary(bus_verifier)


if __name__ == "__main__":
    main()
