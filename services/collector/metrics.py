"""The collector's Prometheus metrics (served by services.common.metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge

from services.common.metrics import NAMESPACE, new_registry

PHASES = ["joining", "member", "fenced"]


class CollectorMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = new_registry() if registry is None else registry
        r, ns, sub = self.registry, NAMESPACE, "collector"
        self.heartbeats = Counter(
            "heartbeats_sent", "Network heartbeats published", namespace=ns, subsystem=sub,
            registry=r,
        )  # fmt: skip
        self.lease_renewals = Counter(
            "lease_renewals", "Host lease renewals, by result (ok, failed)", ["result"],
            namespace=ns, subsystem=sub, registry=r,
        )  # fmt: skip
        self.slot_writes = Counter(
            "slot_writes", "Heartbeat slot writes read back, by result (ok, failed)", ["result"],
            namespace=ns, subsystem=sub, registry=r,
        )  # fmt: skip
        self.fences = Counter(
            "fences", "Times this host fenced, by reason", ["reason"],
            namespace=ns, subsystem=sub, registry=r,
        )  # fmt: skip
        self.vms_running = Gauge(
            "vms_running", "VM instances running on this host", namespace=ns, subsystem=sub,
            registry=r,
        )  # fmt: skip
        self.vm_exits = Counter(
            "vm_exits", "VM instances that stopped, by cause", ["cause"],
            namespace=ns, subsystem=sub, registry=r,
        )  # fmt: skip
        self.malformed = Counter(
            "malformed_messages", "Incoming messages rejected, by subject pattern", ["subject"],
            namespace=ns, subsystem=sub, registry=r,
        )  # fmt: skip
        self.phase = Enum(
            "phase", "The incarnation's phase", states=PHASES,
            namespace=ns, subsystem=sub, registry=r,
        )  # fmt: skip
        for result in ("ok", "failed"):
            # Exported at zero from the start, so that a rate() sees the first failure.
            self.lease_renewals.labels(result)
            self.slot_writes.labels(result)
        self.phase.state("joining")
