"""Planner results recorded in the log: the capacity plan and the overcommitment alarms.

They go to `ha.evt.plan`, the one event subject planners may publish on (deploy/nats/).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from schemas.events.base import Aggregate, EventBase, Name

Count = Annotated[int, Field(strict=True, ge=0)]


class PlanComputed(EventBase):
    """The planner's answer for the pool as of log sequence `based_on_seq` (spec/planner.md):
    the proven maximum of host failures to tolerate, the bound not yet refuted, whether the
    answer is exact, and the worst failure set that refutes one more failure."""

    AGGREGATE: ClassVar[Aggregate] = "plan"
    type: Literal["plan_computed"] = "plan_computed"
    schema_version: Literal[1] = 1
    based_on_seq: Count
    max_host_failures_to_tolerate: Count
    upper_bound: Count
    exact: bool
    worst_failure_set: tuple[Name, ...] | None = None
    host_failures_to_tolerate: Count

    def summary(self) -> str:
        exact = "exact" if self.exact else f"not exact, at most {self.upper_bound}"
        return (
            f"plan: tolerates {self.max_host_failures_to_tolerate} host failures ({exact}); "
            f"configured {self.host_failures_to_tolerate}"
        )


class PoolOvercommitted(EventBase):
    """The pool can no longer absorb the configured number of host failures; `plan` is the
    event id of the PlanComputed that showed it."""

    AGGREGATE: ClassVar[Aggregate] = "plan"
    type: Literal["pool_overcommitted"] = "pool_overcommitted"
    schema_version: Literal[1] = 1
    plan: Name
    max_host_failures_to_tolerate: Count
    host_failures_to_tolerate: Count

    def summary(self) -> str:
        return (
            f"pool overcommitted: tolerates {self.max_host_failures_to_tolerate} host "
            f"failures, {self.host_failures_to_tolerate} configured"
        )


class PlanRestored(EventBase):
    """The pool can absorb the configured number of host failures again."""

    AGGREGATE: ClassVar[Aggregate] = "plan"
    type: Literal["plan_restored"] = "plan_restored"
    schema_version: Literal[1] = 1
    plan: Name
    max_host_failures_to_tolerate: Count
    host_failures_to_tolerate: Count

    def summary(self) -> str:
        return (
            f"plan restored: tolerates {self.max_host_failures_to_tolerate} host failures, "
            f"{self.host_failures_to_tolerate} configured"
        )


__all__ = ["PlanComputed", "PlanRestored", "PoolOvercommitted"]
