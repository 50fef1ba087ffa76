"""What one simulated schedule costs (issue 15: the simulator layer's share of the suite): CPU
per schedule and schedules per CPU-second, in this process, for a sample of the random
schedules of tests/sim (seeds across the 10,000), the 2-host and the 3-host exhaustive grids.

    .venv/bin/python bench/sim_throughput.py [--every 50]

`--every N` runs every N-th schedule of each set (1: all of them, as the tests do). The
figures are CPU time (time.process_time), so a busy machine inflates them less than wall time;
still, compare runs made under the same load.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterable

from services.sim.engine import Sim
from services.sim.faults import Schedule
from services.sim.generate import exhaustive, random_schedule


def _sets(every: int) -> dict[str, Callable[[], Iterable[Schedule]]]:
    return {
        "random (T=30 s, seeds 1-10,000)": lambda: (
            random_schedule(s, None, 30.0) for s in range(1, 10_001, every)
        ),
        "2-host grid (prompt and stuck kills)": lambda: (
            s for n, s in enumerate(exhaustive(2, 30.0)) if n % every == 0
        ),
        "3-host grid (prompt and stuck kills)": lambda: (
            s for n, s in enumerate(exhaustive(3, 30.0)) if n % every == 0
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=50, help="run every N-th schedule")
    args = parser.parse_args()
    for name, make in _sets(max(1, args.every)).items():
        schedules = list(make())
        started = time.process_time()
        events = sum(Sim(s, trace=False).run().events for s in schedules)
        cpu = time.process_time() - started
        print(
            f"{name:40s} {len(schedules):5d} schedules  {cpu / len(schedules) * 1000:6.1f} ms CPU"
            f" each  {len(schedules) / cpu:6.1f} schedules/CPU-s  {events / cpu:8.0f} events/CPU-s"
        )


if __name__ == "__main__":
    main()
