"""The operator CLI against real services on a real nats-server: the arbiter tests' lab pool
(`pool`: the log, the lease bucket, played hosts), the collector tests' lab (`lab`: one real
`haplan collector` process) and the system tests' whole pool (`system`: real collectors with
process VMs and a real `haplan arbiter`), reused as they are."""

from tests.integration.arbiter.conftest import pool
from tests.integration.collector.conftest import empty_lab, lab
from tests.integration.system.conftest import system

__all__ = ["empty_lab", "lab", "pool", "system"]
