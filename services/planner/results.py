"""What the planner answers: immutable results with their JSON form (spec/planner.md).

The JSON forms are a public contract (`haplan plan --json`, `haplan what-if --json`); keys may
be added, never renamed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class SearchStats:
    """How the answer was reached: which cheap checks decided what, and how much CP-SAT ran."""

    failure_sets_decided_by_bounds: int = 0
    failure_sets_decided_by_greedy: int = 0
    failure_sets_decided_by_cpsat: int = 0
    cpsat_calls: int = 0
    symmetry_classes: int = 0
    failure_sets_decided_by_dominance: int = 0
    """Sets implied feasible by a worse set (a dominating host in place of a dominated one)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "failure_sets_decided_by_bounds": self.failure_sets_decided_by_bounds,
            "failure_sets_decided_by_greedy": self.failure_sets_decided_by_greedy,
            "failure_sets_decided_by_cpsat": self.failure_sets_decided_by_cpsat,
            "cpsat_calls": self.cpsat_calls,
            "symmetry_classes": self.symmetry_classes,
            "failure_sets_decided_by_dominance": self.failure_sets_decided_by_dominance,
        }


@dataclass(frozen=True, slots=True)
class FailureCapacity:
    """Max host failures to tolerate, with its certificate.

    `max_host_failures_to_tolerate` is always proven (every failure set of that size or less is
    feasible); `upper_bound` is the largest value not refuted; `exact` when they are equal.
    `worst_failure_set` is an infeasible set of size upper_bound+1 (None when every host but one
    may fail).
    """

    pool: str
    max_host_failures_to_tolerate: int
    upper_bound: int
    exact: bool
    host_failures_to_tolerate: int
    worst_failure_set: tuple[str, ...] | None
    method: str = "exact"
    stats: SearchStats = field(default_factory=SearchStats)

    @property
    def overcommitted(self) -> bool:
        return self.max_host_failures_to_tolerate < self.host_failures_to_tolerate

    def to_json(self) -> dict[str, Any]:
        return {
            "pool": self.pool,
            "max_host_failures_to_tolerate": self.max_host_failures_to_tolerate,
            "exact": self.exact,
            "upper_bound": self.upper_bound,
            "host_failures_to_tolerate": self.host_failures_to_tolerate,
            "overcommitted": self.overcommitted,
            "worst_failure_set": list(self.worst_failure_set)
            if self.worst_failure_set is not None
            else None,
            "method": self.method,
            "stats": self.stats.to_json(),
        }


@dataclass(frozen=True, slots=True)
class Placement:
    vm: str
    host: str


@dataclass(frozen=True, slots=True)
class NotPlaced:
    vm: str
    reason: str


@dataclass(frozen=True, slots=True)
class RestartPlan:
    """Where the VMs of an actual failure set restart; every VM left out has a reason.

    `placements` are listed in restart order (lower `order` first, then by name). `optimal` is
    False when the planner's work limit ran out before the plan was proven best (the plan is
    still valid).
    """

    failed_hosts: tuple[str, ...]
    placements: tuple[Placement, ...]
    not_restarted: tuple[NotPlaced, ...]
    optimal: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "failed_hosts": list(self.failed_hosts),
            "placements": [{"vm": p.vm, "host": p.host} for p in self.placements],
            "not_restarted": [{"vm": n.vm, "reason": n.reason} for n in self.not_restarted],
            "optimal": self.optimal,
        }


@dataclass(frozen=True, slots=True)
class EvacuationPlan:
    """Taking one host into maintenance: where each of its running VMs goes.

    `possible` is False when some running VM cannot move (not agile, or no room); those are in
    `cannot_move` with reasons. `capacity_after` is the failure capacity of the pool without
    that host, once the moves are done; `ntol_holds` says whether it still meets the configured
    host_failures_to_tolerate.
    """

    host: str
    possible: bool
    moves: tuple[Placement, ...]
    cannot_move: tuple[NotPlaced, ...]
    capacity_after: FailureCapacity | None
    ntol_holds: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "possible": self.possible,
            "moves": [{"vm": p.vm, "host": p.host} for p in self.moves],
            "cannot_move": [{"vm": n.vm, "reason": n.reason} for n in self.cannot_move],
            "capacity_after": self.capacity_after.to_json() if self.capacity_after else None,
            "ntol_holds": self.ntol_holds,
        }
