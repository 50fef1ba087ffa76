"""Invariant 4 on the real arbiter core: every decision it takes in simulated runs (the
article's experiments, every 2-host fault combination, random schedules) is reproduced by
verify, and a tampered one is not."""

from __future__ import annotations

from collections import Counter

from schemas.events import HostDeclaredDead, VMRestartOrdered
from services.audit import verify
from services.sim.faults import Kind
from services.sim.generate import (
    exhaustive,
    exhaustive_count,
    lab_pool,
    random_schedule,
    single_fault,
)
from tests.unit.audit.logs import tampered
from tests.unit.audit.sim_logs import simulated_log

LIVENESS_KINDS = {"host_suspected", "host_rejoined", "host_fenced", "host_declared_dead",
                  "vm_restart_ordered", "vm_started"}  # fmt: skip


def test_the_article_experiments_verify() -> None:
    """Power, storage and network loss of lab1 (and a hung collector): each run's log has
    lab1 declared dead and Minion 1 restarted, and every decision verifies."""
    for kind in (Kind.POWER, Kind.STORE_LINK, Kind.BUS_LINK, Kind.HANG):
        log = simulated_log(single_fault(lab_pool(30.0), kind, ("lab1",)))
        types = [e.event.type for e in log]
        assert "host_declared_dead" in types and "vm_started" in types, (kind, types)
        report = verify(log)
        assert report.ok and not report.unconfirmed, (kind, report.to_json())


def test_every_two_host_fault_combination_verifies() -> None:
    """The simulator's exhaustive 2-host mode (1,200 runs, stuck kills included): every
    decision of every run is reproduced; together they exercise every kind of liveness
    decision and order."""
    seen: Counter[str] = Counter()
    runs = 0
    for schedule in exhaustive(2, 30.0):
        report = verify(simulated_log(schedule))
        assert report.ok and not report.unconfirmed, (schedule, report.to_json())
        seen.update(report.checked)
        runs += 1
    assert runs == exhaustive_count(2)
    assert set(seen) >= LIVENESS_KINDS, seen


def test_random_schedules_verify() -> None:
    """100 seeded random schedules (2 to 6 hosts, mixed faults, leader changes) verify."""
    for seed in range(100):
        report = verify(simulated_log(random_schedule(seed)))
        assert report.ok and not report.unconfirmed, (seed, report.to_json())


def test_a_tampered_decision_of_a_simulated_run_is_caught() -> None:
    """In the power-loss run, a declaration whose lease silence is cut below T_dead, or an
    order sent to a stale incarnation, is named by verify."""
    log = simulated_log(single_fault(lab_pool(30.0), Kind.POWER, ("lab1",)))
    dead = next(e for e in log if isinstance(e.event, HostDeclaredDead))
    assert isinstance(dead.event, HostDeclaredDead)
    short = dead.event.evidence.model_copy(update={"lease_silent_for_s": 1.0})
    report = verify(tampered(log, dead.seq, evidence=short))
    assert [f.seq for f in report.differences][:1] == [dead.seq]
    order = next(e for e in log if isinstance(e.event, VMRestartOrdered))
    report = verify(tampered(log, order.seq, incarnation="an-old-boot"))
    assert report.differences[0].seq == order.seq
    assert "the order is for incarnation an-old-boot" in report.differences[0].problem
