"""Fingerprints of simulated runs: what a run decided and did, as one digest, so that a change
meant to make the simulator or the cores under it cheaper can be shown to change nothing.

A schedule's fingerprint covers its violations, every trace line, every milestone, the
settling time, the event count, the leaders' decision log and the forgeries they counted; the
same schedule also runs without its trace (the batch workers' path) and must give the same
violations, milestones and event count. The sample spans the kinds of run tests/sim makes:
random seeds across the 10,000, the short-timeout seeds, slices of the 2- and 3-host grids
(both kinds of kill) and of the hostile grid.

    .venv/bin/python -m tests.sim.fingerprints    # prints the sample's digest
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator

from services.sim.engine import Sim
from services.sim.faults import Schedule
from services.sim.generate import exhaustive, exhaustive_hostile, random_schedule


def sample() -> Iterator[tuple[str, Schedule]]:
    for seed in range(1, 10_001, 400):  # 25 seeds across test_invariants_hold's 10,000
        yield f"random/{seed}", random_schedule(seed, None, 30.0)
    for timeout in (3.0, 10.0):
        for seed in range(500_000, 500_300, 60):
            yield f"random-T{timeout}/{seed}", random_schedule(seed, None, timeout)
    for hosts, step in ((2, 53), (3, 211)):
        for kills in ("prompt", "stuck"):
            for s in itertools.islice(exhaustive(hosts, 30.0, (kills,)), 0, None, step):
                yield f"grid{hosts}-{kills}/{s.seed}", s
    for s in itertools.islice(exhaustive_hostile(2, 30.0), 0, None, 67):
        yield f"hostile2/{s.seed}", s


def fingerprint(schedule: Schedule) -> str:
    sim = Sim(schedule, trace=True)
    out = sim.run()
    quiet = Sim(schedule, trace=False).run()
    if (quiet.violations, quiet.milestones, quiet.events) != (
        out.violations,
        out.milestones,
        out.events,
    ):
        return "TRACE-DEPENDENT"
    h = hashlib.sha256()
    parts = (
        out.violations,
        out.trace,
        out.milestones,
        out.settled_at,
        out.events,
        sim.log,
        sorted(sim.forgeries.items()),
    )
    for part in parts:
        h.update(repr(part).encode())
        h.update(b"\0")
    return h.hexdigest()


def digest() -> tuple[int, str]:
    """How many schedules the sample holds, and the digest of their fingerprints in order."""
    h = hashlib.sha256()
    n = 0
    for name, schedule in sample():
        h.update(f"{name} {fingerprint(schedule)}\n".encode())
        n += 1
    return n, h.hexdigest()


if __name__ == "__main__":
    count, value = digest()
    print(count, value)
