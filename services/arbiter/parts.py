"""What the arbiter's request handlers (inputs.StatusReplies, ops.OperatorRequests) need of the
running service, as a protocol: they depend on this, the service depends on them, and no
module imports the one that imports it (issue 21).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from nats.aio.client import Client

from services.arbiter.core import Arbiter
from services.arbiter.logview import LogView
from services.arbiter.metrics import ArbiterMetrics
from services.arbiter.office import Office


class ArbiterParts(Protocol):
    """The parts of ArbiterService a request handler reads or uses."""

    nc: Client
    ident: str
    clock: Callable[[], float]
    metrics: ArbiterMetrics
    view: LogView
    office: Office | None
    writing: asyncio.Lock
    core: Arbiter

    @property
    def leading(self) -> bool:
        """Whether this arbiter leads now (only the leader answers)."""
        ...

    def configure_core(self) -> None:
        """Fold configuration changes the log gained into the core."""
        ...
