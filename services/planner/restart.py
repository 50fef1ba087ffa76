"""Restart plans for an actual failure set (spec/planner.md). STUB: signature fixed."""

from __future__ import annotations

from collections.abc import Iterable

from schemas import Pool
from services.planner.results import RestartPlan


def restart_plan(pool: Pool, failed: Iterable[str], *, work_limit: float = 10.0) -> RestartPlan:
    """Place the running restart and best-effort agile VMs of `failed` on the survivors."""
    raise NotImplementedError
