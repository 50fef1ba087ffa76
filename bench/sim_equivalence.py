"""Fingerprints of simulated runs, to prove that a change to the simulator (or to a core it
runs) changed no outcome: every violation, trace line, milestone, the settling time, the event
count and the decision log of a sample of schedules (random seeds across the 10,000 of
tests/sim, the short-timeout ones, and slices of the 2- and 3-host grids).

    .venv/bin/python bench/sim_equivalence.py record fingerprints.json   # before a change
    .venv/bin/python bench/sim_equivalence.py check fingerprints.json    # after: exit 1 on a change

Each schedule also runs without its trace (the batch workers' path): its violations and event
count must match the traced run's.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator

from services.sim.engine import Sim
from services.sim.faults import Schedule
from services.sim.generate import exhaustive, random_schedule


def sample() -> Iterator[tuple[str, Schedule]]:
    for seed in range(1, 10_001, 33):  # 304 seeds across tests/sim's 10,000
        yield f"random/{seed}", random_schedule(seed, None, 30.0)
    for timeout in (3.0, 10.0):
        for seed in range(500_000, 500_300, 15):
            yield f"random-T{timeout}/{seed}", random_schedule(seed, None, timeout)
    for hosts, step in ((2, 3), (3, 17)):
        for kills in ("prompt", "stuck"):
            for n, s in enumerate(exhaustive(hosts, 30.0, (kills,))):
                if n % step == 0:
                    yield f"grid{hosts}-{kills}/{s.seed}", s


def fingerprint(schedule: Schedule) -> str:
    sim = Sim(schedule, trace=True)
    out = sim.run()
    quiet = Sim(schedule, trace=False).run()
    if quiet.violations != out.violations or quiet.events != out.events:
        return "TRACE-DEPENDENT"
    h = hashlib.sha256()
    for part in (out.violations, out.trace, out.milestones, out.settled_at, out.events, sim.log):
        h.update(repr(part).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def main() -> int:
    mode, path = sys.argv[1], sys.argv[2]
    prints = {name: fingerprint(s) for name, s in sample()}
    if mode == "record":
        with open(path, "w", encoding="utf-8") as f:
            json.dump(prints, f, indent=0, sort_keys=True)
        print(f"{len(prints)} fingerprints recorded in {path}")
        return 0
    with open(path, encoding="utf-8") as f:
        expected = json.load(f)
    differ = [n for n in expected if prints.get(n) != expected[n]]
    print(f"{len(prints)} schedules, {len(differ)} differ" + (f": {differ[:10]}" if differ else ""))
    return 1 if differ or set(prints) != set(expected) else 0


if __name__ == "__main__":
    sys.exit(main())
