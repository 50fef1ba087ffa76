"""The arbiter's Prometheus metrics, in a registry of its own: two arbiters in one process
(tests) must not share counters, and a scrape shows only this service's figures."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server


class ArbiterMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.leader = Gauge("haplan_arbiter_leader", "1 while this arbiter leads", registry=r)
        self.epoch = Gauge(
            "haplan_arbiter_epoch", "The epoch this arbiter leads with (0: standby)", registry=r
        )
        self.decisions = Counter(
            "haplan_arbiter_decisions",
            "Decisions appended to the event log, by event type",
            ["type"],
            registry=r,
        )
        self.append_conflicts = Counter(
            "haplan_arbiter_append_conflicts",
            "Appends refused because the log moved (expected last sequence)",
            registry=r,
        )
        self.malformed = Counter(
            "haplan_arbiter_malformed_messages",
            "Messages and lease values that could not be read, by subject",
            ["subject"],
            registry=r,
        )
        self.forgeries = Counter(
            "haplan_arbiter_forgeries",
            "Store readings that claimed a host fenced or restarted without that host's valid "
            "signature, by the observer that sent them",
            ["observer"],
            registry=r,
        )
        self.dropped = Counter(
            "haplan_arbiter_dropped_messages",
            'Collector messages dropped unread or unused, by host ("?" for names not in the '
            "pool) and reason: oversize, malformed, pending-limit (arriving faster than read)",
            ["host", "reason"],
            registry=r,
        )
        self.muted = Counter(
            "haplan_arbiter_muted_subjects",
            "Times a host's subject was unsubscribed for T because it flooded, by host",
            ["host"],
            registry=r,
        )
        self.leases_revoked = Counter(
            "haplan_arbiter_leases_revoked", "Host leases of dead incarnations revoked", registry=r
        )
        self.step_downs = Counter(
            "haplan_arbiter_step_downs",
            "Times this arbiter stopped leading: lease-lost, lease-lapsed, deposed, stopping",
            ["reason"],
            registry=r,
        )

        self.operator_requests = Counter(
            "haplan_arbiter_operator_requests",
            "Operator requests answered, by verb and outcome (ok, invalid, refused, conflict)",
            ["verb", "outcome"],
            registry=r,
        )
        self.restarts_ordered = Counter(
            "haplan_arbiter_restarts_ordered", "VM start orders issued", registry=r
        )

    def serve(self, port: int, addr: str = "127.0.0.1") -> int:
        """Expose /metrics over HTTP on `addr`:`port` (0 picks a free port); returns the port."""
        server, _thread = start_http_server(port, addr=addr, registry=self.registry)
        return int(server.server_port)
