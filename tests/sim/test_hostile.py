"""A hostile host in the simulator (services.sim.hostile): it publishes, on its own
store-observation subject, forged fenced marks and new incarnations of every other host,
replays of their genuine old records and rewritten readings, three times an interval. With
signed slots checked, no schedule breaks an invariant; with them unchecked the simulator finds
the split brain (tests/sim/test_mutations.py)."""

from __future__ import annotations

import itertools

from services.arbiter.view import DeclaredDead, Fenced
from services.sim.batch import run_schedules
from services.sim.engine import Sim
from services.sim.faults import Arbiters, Fault, Kind, Schedule
from services.sim.generate import lab_pool, random_schedule, single_fault, uniform_pool

OTHER_FAULTS = (None, Kind.POWER, Kind.BUS_LINK, Kind.STORE_LINK, Kind.HANG)


def hostile_grid(hosts: int, timeout_s: float = 30.0) -> list[Schedule]:
    """h1 hostile from the start of the first leader's judging, combined with every other
    fault on each other host, started with it or T/2 later, healed or not, with the arbiters
    on the hosts or on a witness."""
    pool = uniform_pool(hosts, timeout_s)
    base = single_fault(pool, Kind.HOSTILE, ("h1",))
    names = [h.name for h in pool.hosts]
    start = base.faults[0].start
    out = []
    seed = 0
    for victim, kind in itertools.product(names[1:], OTHER_FAULTS):
        for delay, until, layout in itertools.product(
            (0.0, timeout_s / 2),
            (None, start + timeout_s),
            (Arbiters(tuple(names)), Arbiters((), ("witness",))),
        ):
            faults = [Fault(Kind.HOSTILE, start, None, ("h1",))]
            if kind is not None:
                faults.append(Fault(kind, start + delay, until, (victim,)))
            seed += 1
            out.append(
                Schedule(seed, pool, layout, tuple(faults), base.heal_at, base.end_at, timeout_s)
            )
    return out


def test_a_hostile_host_alone_changes_nothing_in_the_lab_pool() -> None:
    """lab2 hostile for the whole run: lab1 is never marked fenced nor declared dead, Minion 1
    stays on lab1, and no invariant breaks."""
    schedule = single_fault(lab_pool(30.0), Kind.HOSTILE, ("lab2",), arbiters=Arbiters(("lab2",)))
    sim = Sim(schedule)
    outcome = sim.run()
    assert outcome.ok, outcome.violations
    harmful = [d for d in sim.log if isinstance(d, (Fenced, DeclaredDead)) and d.host == "lab1"]
    assert harmful == []


def test_a_hostile_host_with_every_other_fault_breaks_no_invariant() -> None:
    """The hostile grid on 2 and 3 hosts: zero violations."""
    for hosts in (2, 3):
        schedules = hostile_grid(hosts)
        summary = run_schedules(schedules, mode="hostile", seed=0, workers=2)
        assert summary.violations == 0, summary.first


def test_random_schedules_draw_hostile_hosts() -> None:
    """The random generator draws hostile hosts among its faults: at least 10 of the first 300
    schedules have one, so the slow random run (tests/sim/test_invariants_hold.py,
    which covers these seeds) tests hostile hosts with every other fault."""
    drawn = [random_schedule(seed) for seed in range(1, 301)]
    assert sum(any(f.kind is Kind.HOSTILE for f in s.faults) for s in drawn) >= 10
