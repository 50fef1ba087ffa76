"""Pools at vSphere's scale on the bus, and the planner on them (issue 19): figures, no goals.

    .venv/bin/python bench/big_pools.py [--seeds 1] [--stress] [--no-planner]

For each 96 x 10,000 pool (HA-sized and light, `bench.pools.vsphere_pool`; with --stress also
96 x 20,000): a private nats-server with haplan's own limits (512 KB max_payload), then the
`pool_created` append (cut into fragments: docs/protocol.md, Large events and answers), a
replay of the log to the same pool, and the planner's `max_failures` on the pool (exact or
not, with its gap). Prints one row per pool.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pools import vsphere_pool
from schemas import Pool
from schemas.events import PoolCreated, encode_event
from services.common.bus import connect
from services.common.eventstore import JetStreamEventStore
from services.common.logging import configure_logging
from services.common.natsserver import NatsServer
from services.common.replay import rebuild_state
from services.common.settings import BusSettings
from services.deploy.natsconf import render_limits
from services.planner import max_failures
from services.state import to_pool


async def on_the_bus(url: str, pool: Pool) -> tuple[int, int, float, float]:
    """(event bytes, messages, append s, replay s); the replay must give the pool back."""
    event = PoolCreated(event_id=str(uuid.uuid4()), at=datetime.now(UTC), epoch=0, pool=pool)
    nc = await connect(BusSettings(nats_url=url), name="bench", initial_timeout_s=5)
    try:
        store = await JetStreamEventStore.open(nc, replicas=1)
        started = time.perf_counter()
        seq = await store.append([event], 0)
        append_s = time.perf_counter() - started
        started = time.perf_counter()
        rebuilt = await rebuild_state(store)
        replay_s = time.perf_counter() - started
    finally:
        await nc.close()
    if to_pool(rebuilt.state) != pool:
        raise SystemExit("the replayed pool differs from the one appended")
    return len(encode_event(event)), seq, append_s, replay_s


def row(load: str, vms: int, seed: int, planner: bool) -> str:
    pool = vsphere_pool(load, seed, vms=vms)
    with tempfile.TemporaryDirectory(prefix="haplan-bench-") as tmp:
        conf = Path(tmp) / "limits.conf"
        conf.write_text(render_limits())
        with NatsServer(store_dir=Path(tmp) / "nats", config=conf) as server:
            size, messages, append_s, replay_s = asyncio.run(on_the_bus(server.url, pool))
    line = (
        f"96 x {vms:,} {load:<8} seed {seed}: pool_created {size / 1e6:.1f} MB in {messages} "
        f"messages, append {append_s:.2f} s, replay {replay_s:.2f} s"
    )
    if planner:
        started = time.perf_counter()
        answer = max_failures(pool)
        plan_s = time.perf_counter() - started
        gap = answer.upper_bound - answer.max_host_failures_to_tolerate
        line += (
            f"; max_failures {plan_s:.1f} s: {answer.max_host_failures_to_tolerate}"
            + (" exact" if answer.exact else f", gap {gap}")
        )
    return line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="pools per load and size")
    parser.add_argument("--stress", action="store_true", help="also 96 x 20,000")
    parser.add_argument("--no-planner", action="store_true", help="the bus only")
    args = parser.parse_args()
    configure_logging("warning")
    sizes = (10_000, 20_000) if args.stress else (10_000,)
    for vms in sizes:
        for load in ("HA-sized", "light"):
            for seed in range(args.seeds):
                print(row(load, vms, seed, not args.no_planner), flush=True)
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
