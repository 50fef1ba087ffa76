"""Event log benchmark: append N events to a private nats-server, then replay and fold them.

    .venv/bin/python bench/replay.py [--events 200000] [--batch 1000]

Prints appends/s (atomic batches of --batch events, and single-event appends with one
acknowledgement each), replay events/s (ordered consumer + decode + fold, the way a service
rebuilds its state at start) and decode+fold events/s without the bus. Goal: replay >= 50,000
events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from schemas.events import (
    Event,
    HostJoined,
    HostRejoined,
    HostSuspected,
    PlanComputed,
    PoolCreated,
    VMHaltedByGuest,
    VMRestartOrdered,
    VMStarted,
    decode_event,
    encode_event,
)
from schemas.liveness import SuspectEvidence
from schemas.pool import VM, HAConfig, Host, Pool
from services.common.bus import connect
from services.common.eventstore import JetStreamEventStore
from services.common.natsserver import NatsServer
from services.common.replay import rebuild_state
from services.common.settings import BusSettings
from services.state import HANDLERS, PoolState

HOSTS = 16
VMS = 128
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def bench_pool() -> Pool:
    hosts = tuple(
        Host(name=f"host {i:02d}", memory_mib=262144, reserved_mib=4096) for i in range(HOSTS)
    )
    vms = tuple(
        VM(name=f"VM {i:03d}", memory_mib=2048, memory_overhead_mib=32,
           host=hosts[i % HOSTS].name, ha_restart_priority="restart", order=i % 4)
        for i in range(VMS)
    )  # fmt: skip
    return Pool(name="Bench pool", ha=HAConfig(host_failures_to_tolerate=2), hosts=hosts, vms=vms)


def workload(n: int) -> Iterator[Event]:
    """A plausible log: the pool, every host joining, then VMs halted and restarted elsewhere,
    hosts suspected and rejoining, and a plan every thousand events. Every event applies."""
    pool = bench_pool()
    where = {vm.name: vm.host for vm in pool.vms}
    hosts = [h.name for h in pool.hosts]

    def envelope(i: int) -> dict[str, object]:
        return {"event_id": str(uuid.uuid4()), "at": T0 + timedelta(milliseconds=i), "epoch": 7}

    yield PoolCreated(**envelope(0), pool=pool)  # type: ignore[arg-type]
    i = 1
    for h in hosts:
        yield HostJoined(**envelope(i), host=h, incarnation=f"boot-{h}")  # type: ignore[arg-type]
        i += 1
    step = 0
    while i < n:
        vm = f"VM {step % VMS:03d}"
        src = where[vm]
        dst = hosts[(hosts.index(src or hosts[0]) + 1 + step % 3) % HOSTS]
        batch: list[Event] = [
            VMHaltedByGuest(**envelope(i), vm=vm, host=src),  # type: ignore[arg-type]
            VMRestartOrdered(**envelope(i + 1), vm=vm, host=dst, incarnation=f"boot-{dst}",  # type: ignore[arg-type]
                             plan="plan"),
            VMStarted(**envelope(i + 2), vm=vm, host=dst, incarnation=f"boot-{dst}",  # type: ignore[arg-type]
                      instance=f"i-{step}"),
        ]  # fmt: skip
        where[vm] = dst
        if step % 50 == 0:
            h = hosts[step % HOSTS]
            evidence = SuspectEvidence(incarnation=f"boot-{h}", lease_silent_for_s=31, timeout_s=30)
            batch += [
                HostSuspected(**envelope(i + 3), host=h, evidence=evidence),  # type: ignore[arg-type]
                HostRejoined(**envelope(i + 4), host=h, incarnation=f"boot-{h}"),  # type: ignore[arg-type]
            ]
        if step % 333 == 0:
            batch.append(
                PlanComputed(**envelope(i + 5), based_on_seq=i, max_host_failures_to_tolerate=2,  # type: ignore[arg-type]
                             upper_bound=2, exact=True, worst_failure_set=tuple(hosts[:3]),
                             host_failures_to_tolerate=2)
            )  # fmt: skip
        for event in batch[: n - i]:
            yield event
            i += 1
        step += 1


async def run(n: int, batch: int) -> None:
    print(f"building {n:,} events ...", flush=True)
    events = list(workload(n))
    payloads = [encode_event(e) for e in events]

    with NatsServer() as server:
        settings = BusSettings(nats_url=server.url)
        nc = await connect(settings, name="bench-writer", initial_timeout_s=5)
        store = await JetStreamEventStore.open(nc)
        started = time.perf_counter()
        seq = 0
        for k in range(0, n, batch):
            seq = await store.append(events[k : k + batch], seq)
        append_s = time.perf_counter() - started
        assert seq == n, seq
        single = [HostJoined(event_id=str(uuid.uuid4()), at=T0, epoch=7, host="host 00",
                             incarnation="boot-host 00") for _ in range(2000)]  # fmt: skip
        started = time.perf_counter()
        for event in single:
            seq = await store.append([event], seq)
        single_s = time.perf_counter() - started
        await nc.close()

        # A fresh connection, as a service starting up would have.
        nc = await connect(settings, name="bench-reader", initial_timeout_s=5)
        reader = JetStreamEventStore(nc)
        started = time.perf_counter()
        rebuilt = await rebuild_state(reader)
        replay_s = time.perf_counter() - started
        await nc.close()
    total = n + len(single)
    assert rebuilt.state.applied == total and rebuilt.state.ignored == 0, rebuilt.state.ignored
    assert reader.malformed == 0

    started = time.perf_counter()
    state = PoolState()
    for payload in payloads:
        event = decode_event(payload)
        state = HANDLERS[type(event)](state, event)
    cpu_s = time.perf_counter() - started
    assert state.applied == n and state.ignored == 0

    print(f"append, atomic batches of {batch}: {n / append_s:>10,.0f} events/s ({append_s:.2f} s)")
    print(f"append, one event per ack:      {len(single) / single_s:>10,.0f} events/s")
    print(f"replay (consume+decode+fold):   {total / replay_s:>10,.0f} events/s ({replay_s:.2f} s)")
    print(f"decode+fold, no bus:            {n / cpu_s:>10,.0f} events/s ({cpu_s:.2f} s)")
    goal = "met" if total / replay_s >= 50_000 else "NOT met"
    print(f"goal >= 50,000 events/s replayed: {goal}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(run(args.events, args.batch))


if __name__ == "__main__":
    main()
