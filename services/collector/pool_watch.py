"""The pool as the event log says it is, kept current by following the log.

A collector needs the pool's hosts and `ha.timeout_s` (its timers) before it can run, and may
start before `haplan pool create`: it then waits, saying why. The follower survives bus
outages by starting again after the last event it folded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nats.aio.client import Client

from services.common.eventstore import JetStreamEventStore
from services.common.logging import get_logger
from services.common.settings import BusSettings
from services.state import PoolState, apply

log = get_logger("haplan.collector.pool")

OnChange = Callable[[PoolState, PoolState], None]


class PoolWatch:
    def __init__(self, nc: Client, settings: BusSettings) -> None:
        self._nc = nc
        self._settings = settings
        self.state = PoolState()
        self.last_seq = 0
        self.ready = asyncio.Event()  # set once the log holds a pool
        self.on_change: OnChange | None = None

    async def run(self) -> None:
        """Follow the log for ever (cancel the task to stop)."""
        while True:
            try:
                store = await JetStreamEventStore.open(
                    self._nc,
                    replicas=self._settings.stream_replicas,
                    request_timeout_s=self._settings.request_timeout_s,
                )
                async for recorded in store.follow(self.last_seq + 1):
                    before = self.state
                    self.state = apply(self.state, recorded.event)
                    self.last_seq = recorded.seq
                    if self.state.exists:
                        self.ready.set()
                        if self.on_change is not None and before.exists:
                            self.on_change(before, self.state)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # The follower must outlive any bus trouble; it resumes after the last event.
                log.info("event log not readable; retrying", error=str(exc) or type(exc).__name__)
            await asyncio.sleep(1.0)

    async def wait_for_pool(
        self, stop: asyncio.Event, quiet_s: float = 2.0, say_every_s: float = 10.0
    ) -> bool:
        """Wait until the log holds a pool (True) or `stop` is set (False). Reading the log
        takes a moment; after `quiet_s` without a pool it says why, every `say_every_s`."""
        timeout = quiet_s
        while not self.ready.is_set():
            if stop.is_set():
                return False
            waits = [asyncio.ensure_future(self.ready.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                w.cancel()
            if not (self.ready.is_set() or stop.is_set()):
                log.info(
                    "waiting for the pool: the event log holds no pool yet "
                    "(load one with `haplan pool create POOL`)"
                )
            timeout = say_every_s
        return True
