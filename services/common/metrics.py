"""Prometheus metrics of a service: its own registry, served over HTTP when a port is given.

Each service builds its metrics on a private `CollectorRegistry` (so that two services in one
process, as in tests, never clash over a name) and calls `serve_metrics(port, registry)`:
port 0 or None leaves the endpoint off. The endpoint runs in a daemon thread of the
process and answers `GET /metrics` in the Prometheus text format.
"""

from __future__ import annotations

from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server

# Where metrics listen unless told otherwise: every interface, as a scraper in another
# container or on another machine expects.
DEFAULT_METRICS_ADDR = "0.0.0.0"
NAMESPACE = "haplan"


class MetricsUnavailable(OSError):
    """The metrics port could not be bound; the message names it."""


@dataclass
class MetricsEndpoint:
    """A running /metrics endpoint; `port` is the bound port."""

    server: WSGIServer
    addr: str

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def new_registry() -> CollectorRegistry:
    """An empty registry for one service (no process or platform collectors)."""
    return CollectorRegistry(auto_describe=True)


def serve_metrics(
    port: int | None, registry: CollectorRegistry, addr: str = DEFAULT_METRICS_ADDR
) -> MetricsEndpoint | None:
    """Serve `registry` on `addr:port`; None (and nothing started) when `port` is 0 or None."""
    if not port:
        return None
    try:
        server, _thread = start_http_server(port, addr=addr, registry=registry)
    except OSError as exc:
        raise MetricsUnavailable(
            f"cannot serve metrics on {addr}:{port}: {exc.strerror or exc}"
        ) from None
    return MetricsEndpoint(server, addr)
