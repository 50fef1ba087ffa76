"""verify on plans: the planner re-run on the pool replayed as of `based_on_seq` (cached per
distinct pool, deferred to a second pass when older than the history), and the
overcommitment alarms against their plan and the ntol."""

from __future__ import annotations

import pytest

from schemas.events import PlanComputed, PlanRestored, PoolOvercommitted
from services.audit import PlannerCache, StateHistory, Verifier, verify
from services.audit.history import states_at
from tests.unit.audit.logs import every_decision_log, failover_log, prefix, tampered


def problems(entries: list, seq: int) -> list[str]:  # type: ignore[type-arg]
    return [f.problem for f in verify(entries).differences if f.seq == seq]


def test_a_plan_that_understates_the_capacity_differs_and_its_witness_is_refuted() -> None:
    """The lab pool tolerates 1 failure; a plan saying exactly 0 with {lab1} as the worst
    set differs twice: the bound is refuted, and lab1's VM does find a home on lab2."""
    log = tampered(failover_log().entries, 4, max_host_failures_to_tolerate=0, upper_bound=0,
                   worst_failure_set=("lab1",))  # fmt: skip
    assert problems(log, 4) == [
        "upper bound: records 0, the replayed planner gives 1",
        "the worst failure set {lab1} is feasible: every protected VM of it finds a home on the "
        "survivors",
    ]


def test_an_honest_inexact_plan_agrees_and_an_inconsistent_one_differs() -> None:
    """max 0 proven with 1 not refuted (exact false) is a true statement of the lab pool;
    exact true with max 0 and upper bound 1 contradicts itself."""
    honest = tampered(failover_log().entries, 4, max_host_failures_to_tolerate=0, exact=False)
    assert problems(honest, 4) == []
    lying = tampered(failover_log().entries, 4, max_host_failures_to_tolerate=0)
    assert problems(lying, 4) == [
        "exact is true with max 0 and upper bound 1",
        "max host failures to tolerate: records 0, the replayed planner gives 1",
    ]


def test_worst_failure_sets_must_name_pool_hosts_and_be_given_below_the_top() -> None:
    """A worst set naming an unknown host differs; so does a missing worst set when the
    upper bound is below hosts - 1 (nothing refutes one more failure)."""
    unknown = tampered(every_decision_log().entries, 4, worst_failure_set=("h9",))
    assert problems(unknown, 4) == ["the worst failure set names hosts not in the pool: h9"]
    missing = tampered(every_decision_log().entries, 4, worst_failure_set=None)
    assert problems(missing, 4) == [
        "no worst failure set, but the upper bound 0 is below 1 (hosts - 1): nothing refutes "
        "one more failure"
    ]


def test_a_plan_must_be_based_on_an_earlier_sequence_with_a_pool() -> None:
    """based_on_seq at or after the plan itself, or where no pool exists yet, differs."""
    ahead = tampered(failover_log().entries, 4, based_on_seq=4)
    assert problems(ahead, 4) == ["it is based on sequence 4, not before itself"]
    empty = tampered(failover_log().entries, 4, based_on_seq=0)
    assert problems(empty, 4) == [
        "at sequence 0: the event log holds no pool yet (load one with `haplan pool create`)"
    ]


def test_plans_are_checked_on_the_pool_as_of_their_sequence() -> None:
    """A plan based on sequence 3 (Minion 1 on lab1) after the failover is checked on that
    pool, not the current one: a worst set of {lab2} is then feasible (lab2 runs nothing)."""
    log = failover_log()
    log.add(PlanComputed, based_on_seq=3, max_host_failures_to_tolerate=0, upper_bound=0,
            exact=True, worst_failure_set=("lab2",), host_failures_to_tolerate=1)  # fmt: skip
    assert "the worst failure set {lab2} is feasible" in " ".join(problems(log.entries, 10))


def test_plans_older_than_the_history_are_deferred_and_checked_the_same() -> None:
    """With a history of one event, a plan based six events back waits for the second pass,
    which finds exactly what the full history finds."""
    log = failover_log()
    log.add(PlanComputed, based_on_seq=3, max_host_failures_to_tolerate=0, upper_bound=0,
            exact=True, worst_failure_set=("lab2",), host_failures_to_tolerate=1)  # fmt: skip
    full = verify(log.entries)
    short = Verifier(history=StateHistory(window=1, every=1))
    short.feed_all(log.entries)
    assert short.deferred_bases() == {3}
    with pytest.raises(RuntimeError, match="deferred"):
        short.report()
    short.resolve(states_at(log.entries, short.deferred_bases()))
    assert short.report().differences == full.differences
    assert {f.seq for f in full.differences} == {10}


def test_the_planner_runs_once_per_distinct_pool() -> None:
    """Three plans on two distinct pools: two planner runs for the capacities, one hit."""
    log = failover_log()
    log.add(PlanComputed, based_on_seq=3, max_host_failures_to_tolerate=1, upper_bound=1,
            exact=True, worst_failure_set=None, host_failures_to_tolerate=1)  # fmt: skip
    planner = PlannerCache()
    report = verify(log.entries, planner=planner)
    assert report.ok
    assert (report.planner_runs, report.planner_cache_hits) == (2, 1)


def test_alarms_follow_their_plan_and_the_ntol() -> None:
    """An alarm citing no recorded plan, raised twice, raised for a pool that tolerates its
    ntol, or a restore while not overcommitted: each differs."""
    base = every_decision_log()
    plan_a = base.entries[3].event.event_id
    ghost = tampered(base.entries, 5, plan="no-such-plan")
    assert problems(ghost, 5) == ["it cites plan no-such-plan, which is not in the log before it"]
    twice = prefix(base, 5)
    twice.add(PoolOvercommitted, plan=plan_a, max_host_failures_to_tolerate=0,
              host_failures_to_tolerate=1)  # fmt: skip
    assert problems(twice.entries, 6) == ["the pool was already overcommitted"]
    restore_early = prefix(base, 4)
    restore_early.add(PlanRestored, plan=plan_a, max_host_failures_to_tolerate=0,
                      host_failures_to_tolerate=1)  # fmt: skip
    assert problems(restore_early.entries, 5) == [
        "a pool that tolerates 0 of 1 failures is still overcommitted",
        "the pool was not overcommitted",
    ]
    lab = prefix(failover_log(), 4)
    lab.add(PoolOvercommitted, plan=lab.entries[3].event.event_id,
            max_host_failures_to_tolerate=1, host_failures_to_tolerate=1)  # fmt: skip
    assert problems(lab.entries, 5) == [
        "a pool that tolerates 1 of 1 failures is not overcommitted"
    ]
