"""The operator CLI against real services on a real nats-server: the arbiter tests' lab pool
(`pool`: the log, the lease bucket, played hosts) and the collector tests' lab (`lab`: one
real `haplan collector` process), reused as they are."""

from tests.integration.arbiter.conftest import pool
from tests.integration.collector.conftest import empty_lab, lab

__all__ = ["empty_lab", "lab", "pool"]
