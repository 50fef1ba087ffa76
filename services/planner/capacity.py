"""Exact max host failures to tolerate (spec/planner.md). STUB: signature fixed, body pending."""

from __future__ import annotations

from schemas import Pool
from services.planner.results import FailureCapacity


def max_failures(pool: Pool, *, work_limit: float = 60.0) -> FailureCapacity:
    """Largest k such that every failure set of size <= k is feasible, with its certificate.

    `work_limit` bounds the CP-SAT work in deterministic seconds (reproducible, no clock read);
    past it the answer is the proven value with its upper bound and `exact=False`.
    """
    raise NotImplementedError
