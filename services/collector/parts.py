"""What the collector's inbound subscriptions (inbound.Inbound) need of the running shell, as a
protocol: the shell depends on Inbound, Inbound on this, and no module imports the one that
imports it (issue 21).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from services.collector.core import Collector
from services.collector.guarded_vms import GuardedVMs
from services.collector.metrics import CollectorMetrics
from services.collector.outbound import Outbound


class CollectorParts(Protocol):
    """The parts of CollectorShell the inbound handlers read or use."""

    host: str
    core: Collector
    metrics: CollectorMetrics
    nudged: asyncio.Event
    vms: GuardedVMs
    out: Outbound
