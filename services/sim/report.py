"""Figures: how long the article's faults take to handle, in simulated time.

For each fault pulled on lab1 of the article's lab pool (Minion 1 protected on lab1, the leader
on lab2) and each T, the time from the fault to lab1 declared dead and to the restart of
Minion 1 ordered (and, for reference, to lab1 fencing itself and to Minion 1 running again).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from services.common.timers import Timers
from services.sim.engine import run
from services.sim.faults import Arbiters, Kind
from services.sim.generate import lab_pool, single_fault
from services.sim.world import Outcome

FAULTS: tuple[tuple[str, Kind], ...] = (
    ("power", Kind.POWER),
    ("storage", Kind.STORE_LINK),
    ("network", Kind.BUS_LINK),
    ("hang", Kind.HANG),
)
TIMEOUTS = (3.0, 10.0, 30.0)
HOST, VM = "lab1", "Minion 1"


@dataclass(frozen=True, slots=True)
class Figure:
    fault: str
    timeout_s: float
    t_dead_s: float
    fenced_after_s: float | None
    declared_dead_after_s: float | None
    restart_ordered_after_s: float | None
    running_again_after_s: float | None
    ok: bool

    def to_json(self) -> dict[str, object]:
        return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _first(outcome: Outcome, kind: str, subject: str, after: float) -> float | None:
    for t, k, s in outcome.milestones:
        if k == kind and s == subject and t >= after:
            return round(t - after, 3)
    return None


def figure(fault: str, kind: Kind, timeout_s: float) -> Figure:
    pool = lab_pool(timeout_s)
    schedule = single_fault(pool, kind, (HOST,), arbiters=Arbiters(("lab2", "lab1")))
    start = schedule.faults[0].start
    outcome = run(schedule, trace=False)
    fenced = _first(outcome, "fence", HOST, start)
    watchdog = _first(outcome, "watchdog", HOST, start)
    return Figure(
        fault=fault,
        timeout_s=timeout_s,
        t_dead_s=Timers.from_timeout(timeout_s).t_dead_s,
        fenced_after_s=min((t for t in (fenced, watchdog) if t is not None), default=None),
        declared_dead_after_s=_first(outcome, "dead", HOST, start),
        restart_ordered_after_s=_first(outcome, "ordered", VM, start),
        running_again_after_s=_first(outcome, "up", VM, start),
        ok=outcome.ok,
    )


def figures(timeouts: tuple[float, ...] = TIMEOUTS) -> list[Figure]:
    return [figure(name, kind, t) for name, kind in FAULTS for t in timeouts]
