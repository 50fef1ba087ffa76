"""The invariants hold: the exhaustive small-pool grid and 4,000 seeded random schedules run
against the real cores with zero violations (DESIGN.md, test layer 2).

The random run is seeds 1-4,000 unless HAPLAN_SIM_SCHEDULES (how many) and
HAPLAN_SIM_FIRST_SEED (from which seed) say otherwise: a change to a decision table is checked
on 10,000 or more before it merges (CONTRIBUTING.md), with these or `haplan sim --schedules`.

The large batches run in parts of about 1,000 schedules, so that a parallel runner
(pytest-xdist) can balance them over the cores; together the parts cover the whole grid and
every seed (`sim_workers` says how many processes each part uses)."""

from __future__ import annotations

import os

import pytest

from services.sim.batch import Summary, random_batch, run_schedules
from services.sim.faults import Kind
from services.sim.generate import (
    exhaustive,
    exhaustive_count,
    exhaustive_hostile,
    exhaustive_hostile_count,
)
from tests.sim.helpers import sim_workers


def _count(name: str, default: int) -> int:
    """A whole number >= 1 from the environment; anything else stops the run with one line."""
    raw = os.environ.get(name, str(default))
    if not raw.strip().isdigit() or int(raw) < 1:
        raise pytest.UsageError(f"{name} must be a whole number of at least 1, not {raw!r}")
    return int(raw)


RANDOM_SCHEDULES = _count("HAPLAN_SIM_SCHEDULES", 4000)
FIRST_SEED = _count("HAPLAN_SIM_FIRST_SEED", 1)
PART_SIZE = 1_000
RANDOM_PARTS = max(1, -(-RANDOM_SCHEDULES // PART_SIZE))
GRID_PARTS = {2: 1, 3: 3}  # parts of each kill mode's grid: 600 and 1,000 schedules


def _explain(summary: Summary) -> str:
    if summary.first is None:
        return ""
    f = summary.first
    return "\n".join([f.violation.describe(), f"seed {f.schedule.seed}", *f.trace[-40:]])


GRID = [
    (hosts, kills, part)
    for hosts, parts in GRID_PARTS.items()
    for kills in ("prompt", "stuck")
    for part in range(parts)
]


@pytest.mark.slow
@pytest.mark.timeout(300)  # 1,000 schedules of 3 hosts on one busy core
@pytest.mark.parametrize(("hosts", "kills", "part"), GRID)
def test_exhaustive_grid_of_small_pools_has_no_violation(hosts: int, kills: str, part: int) -> None:
    """Every combination of {none, power, bus link, store link, hang} per host, at four
    timings, three durations and two arbiter layouts, with the faulted hosts' kills confirmed
    at once or stuck until their watchdogs fire: zero violations. Part `part` of the grid:
    every `parts`-th schedule from the `part`-th on, so the parts together are the grid."""
    parts = GRID_PARTS[hosts]
    grid = list(exhaustive(hosts, 30.0, (kills,)))
    assert len(grid) == exhaustive_count(hosts, (kills,))
    mine = grid[part::parts]
    summary = run_schedules(mine, mode="exhaustive", seed=0, workers=sim_workers())
    assert summary.schedules == len(mine) > 0
    assert summary.violations == 0, _explain(summary)


@pytest.mark.slow
@pytest.mark.timeout(300)  # 1,000 schedules on one busy core
@pytest.mark.parametrize("part", range(RANDOM_PARTS))
def test_random_schedules_have_no_violation(part: int) -> None:
    """Seeded random schedules mixing every fault kind on 2-5 host pools: zero violations.
    Part `part` of the run: consecutive ranges of 1,000 seeds from FIRST_SEED."""
    first = FIRST_SEED + part * PART_SIZE
    size = min(PART_SIZE, RANDOM_SCHEDULES - part * PART_SIZE)
    summary = random_batch(first, size, None, 30.0, workers=sim_workers())
    assert summary.schedules == size
    assert summary.violations == 0, _explain(summary)


@pytest.mark.parametrize("timeout", [3.0, 10.0])
def test_short_timeouts_hold_too(timeout: float) -> None:
    """The timers scale with T: the same kind of schedules at T = 3 s and 10 s."""
    summary = random_batch(500_000, 300, None, timeout, workers=sim_workers())
    assert summary.violations == 0, _explain(summary)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_exhaustive_grid_with_a_hostile_host_has_no_violation() -> None:
    """The 2-host grid with each host in turn hostile (forged fenced marks and incarnations of
    the other, replays, rewritten readings, three per interval) and every fault of the grid on
    the other, at every timing, duration, layout and kind of kill: zero violations."""
    schedules = list(exhaustive_hostile(2, 30.0))
    assert len(schedules) == exhaustive_hostile_count(2)
    assert all(any(f.kind is Kind.HOSTILE for f in s.faults) for s in schedules)
    summary = run_schedules(schedules, mode="exhaustive", seed=0, workers=sim_workers())
    assert summary.schedules == exhaustive_hostile_count(2)
    assert summary.violations == 0, _explain(summary)
