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

__all__ = [
    "EvacuationPlan",
    "FailureCapacity",
    "NotPlaced",
    "Placement",
    "PoolChange",
    "RestartPlan",
    "SearchStats",
    "apply_change",
    "evacuation_plan",
    "max_failures",
    "restart_plan",
]
