"""The invariants hold: the exhaustive small-pool grid and 10,000 seeded random schedules run
against the real cores with zero violations (DESIGN.md, test layer 2)."""

from __future__ import annotations

import pytest

from services.sim.batch import Summary, exhaustive_batch, random_batch, run_schedules
from services.sim.faults import Kind
from services.sim.generate import exhaustive_count, exhaustive_hostile, exhaustive_hostile_count

RANDOM_SCHEDULES = 10_000
PARTS = 4  # run in parts so that each test stays well inside the per-test timeout


def _explain(summary: Summary) -> str:
    if summary.first is None:
        return ""
    f = summary.first
    return "\n".join([f.violation.describe(), f"seed {f.schedule.seed}", *f.trace[-40:]])


@pytest.mark.slow
@pytest.mark.timeout(600)  # 3,000 schedules of 3 hosts on two busy cores
@pytest.mark.parametrize("kills", ["prompt", "stuck"])
@pytest.mark.parametrize("hosts", [2, 3])
def test_exhaustive_grid_of_small_pools_has_no_violation(hosts: int, kills: str) -> None:
    """Every combination of {none, power, bus link, store link, hang} per host, at four
    timings, three durations and two arbiter layouts, with the faulted hosts' kills confirmed
    at once or stuck until their watchdogs fire: zero violations."""
    summary = exhaustive_batch(hosts, 30.0, (kills,), workers=2)
    assert summary.schedules == exhaustive_count(hosts, (kills,))
    assert summary.violations == 0, _explain(summary)


@pytest.mark.slow
@pytest.mark.parametrize("part", range(PARTS))
def test_ten_thousand_random_schedules_have_no_violation(part: int) -> None:
    """Seeded random schedules mixing every fault kind on 2-5 host pools: zero violations."""
    size = RANDOM_SCHEDULES // PARTS
    summary = random_batch(1 + part * size, size, None, 30.0, workers=2)
    assert summary.schedules == size
    assert summary.violations == 0, _explain(summary)


@pytest.mark.parametrize("timeout", [3.0, 10.0])
def test_short_timeouts_hold_too(timeout: float) -> None:
    """The timers scale with T: the same kind of schedules at T = 3 s and 10 s."""
    summary = random_batch(500_000, 300, None, timeout, workers=2)
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
    summary = run_schedules(schedules, mode="exhaustive", seed=0, workers=2)
    assert summary.schedules == exhaustive_hostile_count(2)
    assert summary.violations == 0, _explain(summary)
