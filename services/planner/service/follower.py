"""Following the event log into a PlanView, for ever: the replica's picture of the pool.

The follower survives bus outages (it says so once, then starts again after the last event
it folded) and wakes whoever waits for the log to move.
"""

from __future__ import annotations

import asyncio
import contextlib

from nats.aio.client import Client

from services.common.eventstore import EventStore, JetStreamEventStore
from services.common.logging import get_logger
from services.common.settings import BusSettings
from services.planner.service.metrics import PlannerMetrics
from services.planner.service.recording import PlanView
from services.planner.service.tasks import finish

log = get_logger("haplan.planner")

RETRY_S = 1.0
RECONNECT_CHECK_S = 0.5


class LogFollower:
    def __init__(
        self, nc: Client, settings: BusSettings, view: PlanView, metrics: PlannerMetrics
    ) -> None:
        self._nc = nc
        self._settings = settings
        self.view = view
        self._metrics = metrics
        self.store: EventStore | None = None
        self.arrived = asyncio.Event()  # set on every event folded; the recorder clears it
        self._moved = asyncio.Condition()
        self._unreachable = False

    async def run(self) -> None:
        """Follow the log for ever (cancel the task to stop). After a reconnection it starts
        following again at once: the server that came back may have lost the reader's
        consumer, which the client would otherwise notice only after missed heartbeats."""
        while True:
            reconnects = self._reconnects()
            reading = asyncio.create_task(self._read(), name="planner-read-log")
            try:
                while not reading.done():
                    await asyncio.wait({reading}, timeout=RECONNECT_CHECK_S)
                    if self._reconnects() != reconnects and not reading.done():
                        log.info("reconnected: following the log again", seq=self.view.last_seq)
                        reading.cancel()
            finally:
                await finish(reading)
            await asyncio.sleep(RETRY_S if self._unreachable else 0)

    def _reconnects(self) -> int:
        return int(self._nc.stats.get("reconnects", 0))

    async def _read(self) -> None:
        """Open the log and fold it from where the view is; returns on any trouble, which
        it says once per outage."""
        try:
            store = await JetStreamEventStore.open(
                self._nc,
                replicas=self._settings.stream_replicas,
                request_timeout_s=self._settings.request_timeout_s,
            )
            self.store = store
            if self._unreachable:
                log.info("event log readable again", seq=self.view.last_seq)
                self._unreachable = False
            async for recorded in store.follow(self.view.last_seq + 1):
                self.view.apply(recorded.seq, recorded.event)
                await self._moved_to()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not self._unreachable:  # once per outage, not every retry
                log.warning(
                    "event log not readable; retrying", error=str(exc) or type(exc).__name__
                )
            self._unreachable = True

    async def _moved_to(self) -> None:
        self._metrics.show(self.view.state)
        self.arrived.set()
        async with self._moved:
            self._moved.notify_all()

    async def reach(self, seq: int, timeout_s: float) -> bool:
        """Wait until the view has folded the log up to `seq`; False after `timeout_s`."""
        async with self._moved:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._moved.wait_for(lambda: self.view.last_seq >= seq), timeout_s
                )
        return self.view.last_seq >= seq

    async def settle_at(self, seq: int, timeout_s: float) -> bool:
        """Wait for the view to fold the log up to `seq`. If it does not within `timeout_s`
        and nothing readable is left up to `seq` (messages a newer haplan wrote, which the
        reader skips), count them as folded. False when the view is still behind."""
        if await self.reach(seq, timeout_s):
            return True
        store = self.store
        if store is None:
            return False
        if await _first_readable(store, self.view.last_seq + 1, seq):
            return False  # readable and not folded yet: the follower is only slow
        log.warning("unreadable events in the log; planning on what is readable", upto=seq)
        self.view.skip_to(seq)
        await self._moved_to()
        return True


async def _first_readable(store: EventStore, start: int, end: int) -> bool:
    """Whether the log holds a readable event from `start` to `end`."""
    reader = store.read(start)
    try:
        async for recorded in reader:
            return recorded.seq <= end
        return False
    finally:
        close = getattr(reader, "aclose", None)  # stop the reader's consumer now
        if close is not None:
            await close()
