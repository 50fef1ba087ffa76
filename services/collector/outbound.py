"""What the collector publishes: heartbeat, store observation, join request, host report, and
the fenced notice (subjects in services.collector.wire).

Heartbeats are only worth something fresh: while the client is disconnected nothing is
published (nats-py would buffer the messages and deliver them late, where a peer would take an
old `store_ok` for a current one). Publishing never raises: the bus being down is a fact the
liveness rules handle, not an error.
"""

from __future__ import annotations

import nats.errors
from nats.aio.client import Client
from pydantic import BaseModel

from schemas.messages import FencedNotice
from schemas.reports import HostReport
from services.collector import wire
from services.collector.core import Tick
from services.collector.metrics import CollectorMetrics
from services.common.logging import get_logger

log = get_logger("haplan.collector")


class Outbound:
    def __init__(self, nc: Client, host: str, metrics: CollectorMetrics) -> None:
        self._nc, self._metrics = nc, metrics
        self._hb = wire.heartbeat_subject(host)
        self._sto = wire.observation_subject(host)
        self._join = wire.join_subject(host)
        self._report = wire.report_subject(host)
        self._fenced = wire.fenced_subject(host)
        self.last_report: HostReport | None = None

    async def _publish(self, subject: str, msg: BaseModel) -> bool:
        if not self._nc.is_connected:
            return False
        try:
            await self._nc.publish(subject, msg.model_dump_json().encode())
        except (nats.errors.Error, OSError) as exc:
            log.debug("publish failed", subject=subject, error=type(exc).__name__)
            return False
        return True

    async def tick(self, tick: Tick, report: HostReport) -> None:
        self.last_report = report
        if await self._publish(self._hb, tick.heartbeat):
            self._metrics.heartbeats.inc()
        await self._publish(self._sto, tick.observation)
        if tick.join is not None:
            await self._publish(self._join, tick.join)
        await self._publish(self._report, report)

    async def fenced(self, notice: FencedNotice) -> None:
        if await self._publish(self._fenced, notice):
            log.info("fenced notice published", subject=self._fenced)
        else:
            log.warning("cannot say fenced on the bus: not connected")

    async def flush(self, timeout_s: float) -> None:
        """Push what was published out before the process exits, if the bus allows."""
        if not self._nc.is_connected:
            return
        try:
            await self._nc.flush(timeout=max(1, round(timeout_s)))
        except (nats.errors.Error, OSError, TimeoutError) as exc:
            log.debug("flush failed", error=type(exc).__name__)
