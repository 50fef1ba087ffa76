"""Power pull benchmark: how fast `haplan fault power lab1` switches lab1 off in `haplan up`.

    .venv/bin/python bench/power_pull.py [--runs 3] [--json]

Each run starts `haplan up` on the lab pool (T = 3 s), waits for the pool to be live, pulls
lab1's power from another process as an operator would, and measures on this machine's
clock, from the request: the answer (the pull answers once lab1's processes are dead) and
Minion 1's last disk write on lab1. Goal: the last write within 0.5 s of the request (the
tests assert only the order: no write after the answer, tests/integration/up/test_faults.py).
Exit status 1 if a run missed the goal.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.up.harness import Up, writers

GOAL_S = 0.5


@dataclass(frozen=True)
class Run:
    answered_s: float  # the pull's answer, after the request
    last_write_s: float  # Minion 1's last write on lab1, after the request (may be < 0)

    @property
    def met(self) -> bool:
        return self.last_write_s <= GOAL_S


def measure() -> Run:
    up = Up()
    try:
        up.wait_live()
        requested = time.time()
        assert up.fault("power", "lab1")["pulled"] == ["power"]
        answered = time.time()
        last = max(w[2] for w in writers(up.disk()).values() if w[0] == "lab1") / 1e9
        return Run(answered - requested, last - requested)
    finally:
        up.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    runs = [measure() for _ in range(args.runs)]
    if args.json:
        print(json.dumps([{**asdict(r), "met": r.met} for r in runs]))
    else:
        print(f"{'run':>4} {'answered s':>11} {'last write s':>13}  goal <= {GOAL_S} s")
        for i, r in enumerate(runs, 1):
            mark = "ok" if r.met else "MISSED"
            print(f"{i:>4} {r.answered_s:>11.3f} {r.last_write_s:>13.3f}  {mark}")
    return 0 if all(r.met for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
