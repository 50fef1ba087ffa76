"""The planner core (pure: no IO, no clock): exact failure capacity, restart, what-if and
evacuation plans, and the XenServer baseline to compare against.

The names below are loaded from their submodule on first use (PEP 562): an arbiter imports
`services.planner.placement` to start, and the capacity search behind `max_failures` (numpy)
only when it first checks a plan (issue 15).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas.lazy_names import lazy_names

if TYPE_CHECKING:
    from services.planner.capacity import max_failures
    from services.planner.evacuate import evacuation_plan
    from services.planner.hypothetical import PoolChange, apply_change, describe_change
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

_HOME = {
    "max_failures": "services.planner.capacity",
    "evacuation_plan": "services.planner.evacuate",
    "PoolChange": "services.planner.hypothetical",
    "apply_change": "services.planner.hypothetical",
    "describe_change": "services.planner.hypothetical",
    "restart_plan": "services.planner.restart",
    **dict.fromkeys(
        ("EvacuationPlan", "FailureCapacity", "NotPlaced", "Placement", "RestartPlan"),
        "services.planner.results",
    ),
    "SearchStats": "services.planner.results",
    **dict.fromkeys(("XapiCheck", "plan_exists_for", "xapi_max_failures"), "services.planner.xapi"),
}


__getattr__ = lazy_names("services.planner", _HOME, globals())


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
    "describe_change",
    "evacuation_plan",
    "max_failures",
    "plan_exists_for",
    "restart_plan",
    "xapi_max_failures",
]
