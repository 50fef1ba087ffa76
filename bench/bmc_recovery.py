"""Power-pull recovery with and without BMC fencing, in the deterministic simulator.

    .venv/bin/python bench/bmc_recovery.py [--timeouts 10,30] [--seeds 20] [--json]

For each T and seed, lab1 of the article's lab pool loses power (the arbiter on a witness);
with a fencing chain on lab1 whose BMC answers at once (services/sim/bmc.py), and without.
Printed, on the simulator's virtual clock, from the pull: when lab1 was declared dead (and on
which rule) and when Minion 1 was up on lab2; the median and the worst over the seeds, side by
side. These are the protocol's own delays (intervals, T, T_dead, a VM boot of one interval),
not a real machine's: the real-fault lab figures are bench/recovery.py's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schemas.fencing import FencingAgent
from services.common.timers import Timers
from services.sim.engine import Sim
from services.sim.faults import Arbiters, Fault, Kind, Schedule
from services.sim.generate import lab_pool

AGENT = FencingAgent(kind="redfish", address="https://bmc-lab1", credential="env:BMC")


def run(timeout_s: float, seed: int, bmc: bool) -> dict[str, float | str | None]:
    t = Timers.from_timeout(timeout_s)
    pool = lab_pool(timeout_s)
    if bmc:
        hosts = tuple(
            h.model_copy(update={"fencing": (AGENT,)}) if h.name == "lab1" else h
            for h in pool.hosts
        )
        pool = pool.model_copy(update={"hosts": hosts})
    pull = t.t_dead_s + 0.37 * t.interval_s
    schedule = Schedule(
        seed, pool, Arbiters((), ("witness",)), (Fault(Kind.POWER, pull, None, ("lab1",)),),
        heal_at=3 * t.t_dead_s, end_at=7 * t.t_dead_s, timeout_s=timeout_s,
    )  # fmt: skip
    sim = Sim(schedule, trace=False)
    outcome = sim.run()
    dead = next((at for at, k, h in outcome.milestones if (k, h) == ("dead", "lab1")), None)
    up = next(
        (at for at, k, v in outcome.milestones if (k, v) == ("up", "Minion 1") and at > pull),
        None,
    )
    rules = [d.evidence.rule for d in sim.log if type(d).__name__ == "DeclaredDead"]
    return {
        "declared_s": None if dead is None else dead - pull,
        "up_s": None if up is None else up - pull,
        "rule": rules[0] if rules else None,
        "violations": len(outcome.violations),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeouts", default="10,30")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    for timeout in (float(x) for x in args.timeouts.split(",")):
        for bmc in (False, True):
            runs = [run(timeout, seed, bmc) for seed in range(1, args.seeds + 1)]
            declared = [float(r["declared_s"]) for r in runs if r["declared_s"] is not None]
            up = [float(r["up_s"]) for r in runs if r["up_s"] is not None]
            rows.append({
                "T": timeout, "bmc": bmc, "runs": len(runs),
                "rules": sorted({str(r["rule"]) for r in runs}),
                "violations": sum(int(r["violations"] or 0) for r in runs),
                "declared_median_s": statistics.median(declared),
                "declared_worst_s": max(declared),
                "up_median_s": statistics.median(up), "up_worst_s": max(up),
                "t_dead_s": Timers.from_timeout(timeout).t_dead_s,
            })  # fmt: skip
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'T':>5} {'chain':>6} {'rule':>10} {'declared med/worst':>20} "
          f"{'Minion 1 up med/worst':>23} {'T_dead':>7} {'violations':>10}")  # fmt: skip
    for r in rows:
        print(
            f"{r['T']:>5g} {'BMC' if r['bmc'] else 'none':>6} {','.join(r['rules']):>10} "
            f"{r['declared_median_s']:>9.2f} / {r['declared_worst_s']:<8.2f} "
            f"{r['up_median_s']:>11.2f} / {r['up_worst_s']:<9.2f} {r['t_dead_s']:>7g} "
            f"{r['violations']:>10}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
