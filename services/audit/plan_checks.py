"""Re-checking recorded plans: the planner re-run on the pool replayed as of `based_on_seq`,
and the overcommitment alarms against the plan they cite and the configured ntol."""

from __future__ import annotations

from schemas.events import PlanComputed, PlanRestored, PoolOvercommitted
from schemas.pool import Pool
from schemas.pool_file import PoolError
from services.audit.findings import Notes
from services.audit.planning import PlannerCache
from services.planner import FailureCapacity
from services.planner.decide import Verdict
from services.state import PoolState, plan_pool


def check_plan_computed(
    base: PoolState, e: PlanComputed, planner: PlannerCache, notes: Notes
) -> None:
    """`base` is the state after `e.based_on_seq`."""
    try:
        pool = plan_pool(base)
    except PoolError as exc:
        notes.differ(f"at sequence {e.based_on_seq}: {exc}")
        return
    n = len(pool.hosts)
    ntol = base.ha.host_failures_to_tolerate
    if e.host_failures_to_tolerate != ntol:
        notes.differ(
            f"records host_failures_to_tolerate {e.host_failures_to_tolerate}, the pool had "
            f"{ntol} at sequence {e.based_on_seq}"
        )
    if e.exact != (e.max_host_failures_to_tolerate == e.upper_bound):
        notes.differ(
            f"exact is {str(e.exact).lower()} with max {e.max_host_failures_to_tolerate} "
            f"and upper bound {e.upper_bound}"
        )
    if not e.max_host_failures_to_tolerate <= e.upper_bound <= n - 1:
        notes.differ(
            f"max {e.max_host_failures_to_tolerate} <= upper bound {e.upper_bound} <= "
            f"{n - 1} (hosts - 1) does not hold"
        )
        return
    truth = planner.capacity(pool)
    _compare(truth, e, notes)
    _worst_set(pool, e, truth, planner, notes)


def _compare(truth: FailureCapacity, e: PlanComputed, notes: Notes) -> None:
    lo, hi = truth.max_host_failures_to_tolerate, truth.upper_bound
    recorded_max, recorded_hi = e.max_host_failures_to_tolerate, e.upper_bound
    replay = f"the replayed planner gives {lo}" + ("" if truth.exact else f" to {hi}")
    if recorded_max > hi:
        notes.differ(f"max host failures to tolerate: records {recorded_max}, {replay}")
    elif recorded_hi < lo:
        notes.differ(f"upper bound: records {recorded_hi}, {replay}")
    elif e.exact and truth.exact and recorded_max != lo:
        notes.differ(f"max host failures to tolerate: records {recorded_max}, {replay}")
    elif e.exact and recorded_max > lo:
        notes.unsure(
            f"records exactly {recorded_max}; within the work limit the planner proved only "
            f"{lo} (at most {hi})"
        )


def _worst_set(
    pool: Pool, e: PlanComputed, truth: FailureCapacity, planner: PlannerCache, notes: Notes
) -> None:
    n = len(pool.hosts)
    worst = e.worst_failure_set
    if worst is None:
        if e.upper_bound != n - 1:
            notes.differ(
                f"no worst failure set, but the upper bound {e.upper_bound} is below "
                f"{n - 1} (hosts - 1): nothing refutes one more failure"
            )
        return
    unknown = [h for h in worst if h not in pool.host_names]
    if unknown:
        notes.differ(f"the worst failure set names hosts not in the pool: {', '.join(unknown)}")
        return
    failed = frozenset(worst)
    if len(failed) != e.upper_bound + 1:
        notes.differ(
            f"the worst failure set has {len(failed)} hosts; it must have upper bound + 1 = "
            f"{e.upper_bound + 1}"
        )
    if truth.worst_failure_set is not None and failed == frozenset(truth.worst_failure_set):
        return  # the planner's own certificate: the re-run proved it infeasible
    verdict = planner.failure_set(pool, failed)
    if verdict is Verdict.FEASIBLE:
        notes.differ(
            f"the worst failure set {{{', '.join(worst)}}} is feasible: every protected VM of "
            "it finds a home on the survivors"
        )
    elif verdict is Verdict.UNKNOWN:
        notes.unsure("the planner could not decide the worst failure set within the work limit")


def check_alarm(
    state: PoolState,
    e: PoolOvercommitted | PlanRestored,
    plans: dict[str, tuple[int, PlanComputed]],
    notes: Notes,
) -> None:
    """An alarm (or its end) cites the latest plan, repeats its numbers, compares them with
    the configured ntol, and changes the pool's overcommitted state."""
    raised = isinstance(e, PoolOvercommitted)
    cited = plans.get(e.plan)
    if cited is None:
        notes.differ(f"it cites plan {e.plan}, which is not in the log before it")
    else:
        seq, plan = cited
        if state.plan is not None and state.plan.event_id != e.plan:
            notes.differ(f"it cites the plan of sequence {seq}, but a newer plan was recorded")
        if plan.max_host_failures_to_tolerate != e.max_host_failures_to_tolerate:
            notes.differ(
                f"it records max {e.max_host_failures_to_tolerate}, the plan it cites (sequence "
                f"{seq}) says {plan.max_host_failures_to_tolerate}"
            )
    ntol = state.ha.host_failures_to_tolerate
    if e.host_failures_to_tolerate != ntol:
        notes.differ(
            f"it records host_failures_to_tolerate {e.host_failures_to_tolerate}, the pool has "
            f"{ntol}"
        )
    tolerated = e.max_host_failures_to_tolerate
    if raised and tolerated >= ntol:
        notes.differ(f"a pool that tolerates {tolerated} of {ntol} failures is not overcommitted")
    if not raised and tolerated < ntol:
        notes.differ(f"a pool that tolerates {tolerated} of {ntol} failures is still overcommitted")
    if raised and state.overcommitted:
        notes.differ("the pool was already overcommitted")
    if not raised and not state.overcommitted:
        notes.differ("the pool was not overcommitted")
