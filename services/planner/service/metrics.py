"""The planner service's Prometheus metrics (served by services.common.metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from services.common.metrics import NAMESPACE, new_registry
from services.planner.service.requests import ENDPOINTS
from services.state import PoolState

OUTCOMES = ("ok", "bad_request", "no_pool", "error")
# Plans take from milliseconds (small pools) to the whole work limit (8 s by default).
SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class PlannerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = new_registry() if registry is None else registry
        r, ns, sub = self.registry, NAMESPACE, "planner"
        self.requests = Counter(
            "requests", "Requests answered, by endpoint and outcome (ok, bad_request, no_pool, "
            "error)", ["endpoint", "outcome"], namespace=ns, subsystem=sub, registry=r,
        )  # fmt: skip
        self.malformed = Counter(
            "malformed_requests", "Requests refused as bad (service error 400), by endpoint",
            ["endpoint"], namespace=ns, subsystem=sub, registry=r,
        )  # fmt: skip
        self.compute_seconds = Histogram(
            "plan_compute_seconds", "Wall time of planner computations, by what asked "
            "(an endpoint, or `log` for recorded plans)", ["source"], buckets=SECONDS,
            namespace=ns, subsystem=sub, registry=r,
        )  # fmt: skip
        self.recorded = Counter(
            "recorded_events", "Events this replica appended, by type (plan_computed, "
            "pool_overcommitted, plan_restored)", ["type"], namespace=ns, subsystem=sub,
            registry=r,
        )  # fmt: skip
        self.append_conflicts = Counter(
            "append_conflicts", "Plan appends refused because the log moved (another replica "
            "or the arbiter wrote first)", namespace=ns, subsystem=sub, registry=r,
        )  # fmt: skip
        self.max_failures = Gauge(
            "max_host_failures_to_tolerate", "Proven max host failures to tolerate of the "
            "latest plan in the log (-1: none yet)", namespace=ns, subsystem=sub, registry=r,
        )  # fmt: skip
        self.exact = Gauge(
            "plan_exact", "1 when the latest plan in the log is exact",
            namespace=ns, subsystem=sub, registry=r,
        )  # fmt: skip
        self.overcommitted = Gauge(
            "overcommitted", "1 while the log says the pool is overcommitted",
            namespace=ns, subsystem=sub, registry=r,
        )  # fmt: skip
        for endpoint in ENDPOINTS:
            # Exported at zero from the start, so that a rate() sees the first one.
            self.malformed.labels(endpoint)
            for outcome in OUTCOMES:
                self.requests.labels(endpoint, outcome)
        self.max_failures.set(-1)

    def show(self, state: PoolState) -> None:
        """The gauges from the log's latest plan and alarm."""
        plan = state.plan
        self.max_failures.set(-1 if plan is None else plan.max_host_failures_to_tolerate)
        self.exact.set(int(plan is not None and plan.exact))
        self.overcommitted.set(int(state.overcommitted))
