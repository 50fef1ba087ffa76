"""The pool state: a pure fold of the event log, and its projection back to a pool file."""

from services.state.fold import HANDLERS, apply, fold
from services.state.model import (
    GuardState,
    HaltedBy,
    HostLiveness,
    HostState,
    PlanSummary,
    PoolState,
    PowerState,
    RestartOrder,
    VMState,
)
from services.state.projection import plan_pool, to_pool

__all__ = [
    "HANDLERS",
    "GuardState",
    "HaltedBy",
    "HostLiveness",
    "HostState",
    "PlanSummary",
    "PoolState",
    "PowerState",
    "RestartOrder",
    "VMState",
    "apply",
    "fold",
    "plan_pool",
    "to_pool",
]
