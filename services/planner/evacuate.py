"""Evacuation plans: take one host into maintenance. STUB: signature fixed."""

from __future__ import annotations

from schemas import Pool
from services.planner.results import EvacuationPlan


def evacuation_plan(pool: Pool, host: str, *, work_limit: float = 30.0) -> EvacuationPlan:
    raise NotImplementedError
