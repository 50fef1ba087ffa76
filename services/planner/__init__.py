"""The planner core (pure: no IO, no clock): exact failure capacity, restart, what-if and
evacuation plans, and the XenServer baseline to compare against."""

from services.planner.capacity import max_failures
from services.planner.evacuate import evacuation_plan
from services.planner.hypothetical import PoolChange, apply_change
from services.planner.restart import restart_plan
from services.planner.results import (
    EvacuationPlan,
    FailureCapacity,
    NotPlaced,
    Placement,
    RestartPlan,
    SearchStats,
)
from services.planner.xapi import XapiCheck, plan_exists_for, xapi_max_failures

__all__ = [
    "EvacuationPlan",
    "FailureCapacity",
    "NotPlaced",
    "Placement",
    "PoolChange",
    "RestartPlan",
    "SearchStats",
    "XapiCheck",
    "apply_change",
    "evacuation_plan",
    "max_failures",
    "plan_exists_for",
    "restart_plan",
    "xapi_max_failures",
]
