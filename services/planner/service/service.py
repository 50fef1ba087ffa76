"""`haplan planner`: one replica of the planner service (docs/operations.md).

Three parts share one PlanView: the follower folds the event log into it, the endpoints
answer questions about its live pool (or a pool the request brings), and the recorder keeps
the log's plan current. The endpoints answer from the start, so a request that brings its own
pool needs no log; a question about the live pool gets 503 until the log holds one.
"""

from __future__ import annotations

import asyncio
import contextlib

from nats.aio.client import Client
from nats.micro.service import Service

from services.common.logging import get_logger
from services.common.settings import BusSettings
from services.planner.service.endpoints import NAME, start_endpoints
from services.planner.service.follower import LogFollower
from services.planner.service.metrics import PlannerMetrics
from services.planner.service.recorder import QUIET_S, PlanRecorder
from services.planner.service.recording import PlanView
from services.planner.service.tasks import finish

log = get_logger("haplan.planner")


class PlannerService:
    def __init__(
        self,
        nc: Client,
        settings: BusSettings,
        ident: str,
        *,
        metrics: PlannerMetrics | None = None,
        work_limit: float | None = None,
        quiet_s: float = QUIET_S,
    ) -> None:
        self.nc, self.ident = nc, ident
        self.metrics = PlannerMetrics() if metrics is None else metrics
        self.view = PlanView()
        self.follower = LogFollower(nc, settings, self.view, self.metrics)
        self.recorder = PlanRecorder(
            self.follower, self.metrics, work_limit=work_limit, quiet_s=quiet_s
        )
        self.micro: Service | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.micro = await start_endpoints(self.nc, self.view, self.metrics, self.ident)
        self._tasks = [
            asyncio.create_task(self.follower.run(), name="planner-follow"),
            asyncio.create_task(self.recorder.run(), name="planner-record"),
        ]
        log.info("planner ready", service=NAME, replica=self.ident, instance=self.micro.id)

    async def stop(self) -> None:
        for task in self._tasks:
            await finish(task)
        self._tasks = []
        if self.micro is not None:
            with contextlib.suppress(Exception):  # a closed connection has nothing to drain
                await self.micro.stop()
            self.micro = None

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set."""
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()
