"""Admission control: would an operator action leave the pool below its failure plan? (pure)

The check is the planner's exact max host failures to tolerate on the pool the plan is about
(services.state.plan_pool: the hosts that can take VMs now, the projection the planner
service and audit verify use) after the change. An action is refused when HA is on, the pool
does not allow overcommit, and the result is below host_failures_to_tolerate. Only a proven
answer admits: when the planner cannot prove enough within its work limit, the action is
refused and the reply says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas.pool import Pool
from services.arbiter.operator import OpRefused

if TYPE_CHECKING:
    from services.planner.results import EvacuationPlan

# Deterministic seconds for one check: it runs in a worker thread, off the leader's loop.
ADMISSION_WORK_LIMIT = 8.0

OVERCOMMIT_HINT = (
    "free memory or add a host, lower the target with `haplan pool set "
    "ha-host-failures-to-tolerate=N`, or allow it with `haplan pool set ha-allow-overcommit=true`"
)


def check_capacity(
    after: Pool, ntol: int, action: str, work_limit: float = ADMISSION_WORK_LIMIT
) -> None:
    """Raise OpRefused("refused") when `after` (the pool once `action` is done) cannot absorb
    `ntol` (the configured target) host failures; `action` names the action in the message,
    e.g. "protecting VM 'db'"."""
    ha = after.ha
    if not ha.enabled or ha.allow_overcommit or ntol == 0:
        return
    # Imported here: the capacity search (numpy) is loaded by an arbiter's first check, not by
    # every arbiter start (issue 15).
    from services.planner.capacity import max_failures

    capacity = max_failures(after, work_limit=work_limit)
    k = capacity.max_host_failures_to_tolerate
    if k >= ntol:
        return
    if capacity.exact or capacity.upper_bound < ntol:
        why = f"the pool could then absorb only {k} host failure(s)"
    else:
        why = f"the planner could not prove that the pool would then absorb more than {k}"
    raise OpRefused(
        f"refused: {action} would overcommit the pool: {why}, below "
        f"host_failures_to_tolerate {ntol}",
        OVERCOMMIT_HINT,
        "refused",
    )


def check_evacuation(plan: EvacuationPlan, pool: Pool) -> None:
    """An evacuation must move every VM, and keep the configured plan (the plan was judged
    against the state's host_failures_to_tolerate, not `pool`'s, which plan_pool clips to the
    hosts left) unless overcommit is allowed."""
    if not plan.possible:
        stuck = "; ".join(f"{n.vm}: {n.reason}" for n in plan.cannot_move)
        raise OpRefused(
            f"cannot evacuate {plan.host}: {stuck}",
            "free memory elsewhere, or shut those VMs down first",
        )
    ha = pool.ha
    if plan.ntol_holds or not ha.enabled or ha.allow_overcommit:
        return
    after = plan.capacity_after
    k = after.max_host_failures_to_tolerate if after is not None else 0
    ntol = after.host_failures_to_tolerate if after is not None else ha.host_failures_to_tolerate
    raise OpRefused(
        f"refused: evacuating {plan.host} would overcommit the pool: without it the pool "
        f"could absorb only {k} host failure(s), below host_failures_to_tolerate {ntol}",
        OVERCOMMIT_HINT,
        "refused",
    )
