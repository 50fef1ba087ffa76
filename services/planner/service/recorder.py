"""Keeping the log's plan current: when events that change the capacity picture have arrived
and the log has been quiet for a moment, compute max host failures on the pool the log
describes and append the plan (and the alarm it raises or ends) guarded by the expected last
sequence, so that one plan per log state gets recorded however many replicas race.

After a conflict the replica catches up and decides again: a relevant event that arrived
means a new computation; a plan another replica recorded for the state means nothing to do.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from schemas.events import Event
from schemas.pool import Pool
from schemas.pool_file import PoolError
from services.common.eventstore import (
    ConcurrencyConflict,
    EventStoreError,
    EventStoreUnavailable,
)
from services.common.logging import get_logger
from services.planner import FailureCapacity, max_failures
from services.planner.service.follower import LogFollower
from services.planner.service.metrics import PlannerMetrics
from services.planner.service.recording import Stamp, plan_events

log = get_logger("haplan.planner")

QUIET_S = 0.25  # a burst of events (a host dying, its VMs restarting) gives one plan
MAX_WAIT_S = 3.0  # ...but a log that never goes quiet still gets plans
CATCH_UP_S = 5.0
RETRY_S = 1.0
POOL_POLL_S = 1.0
MEMO = 4  # pools whose answer is kept: a conflict or a VM moving back costs no new search


def _wall() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


class PlanRecorder:
    def __init__(
        self,
        follower: LogFollower,
        metrics: PlannerMetrics,
        *,
        work_limit: float | None = None,
        quiet_s: float = QUIET_S,
        wall: Callable[[], datetime] = _wall,
    ) -> None:
        self.follower = follower
        self.view = follower.view
        self.metrics = metrics
        self._limit: dict[str, Any] = {} if work_limit is None else {"work_limit": work_limit}
        self._quiet_s = quiet_s
        self._wall = wall
        self._memo: OrderedDict[Pool, FailureCapacity] = OrderedDict()
        self._unplannable_seq = -1

    async def run(self) -> None:
        """Record plans for ever (cancel the task to stop); a bug is logged, never the end."""
        await self._wait_for_pool()
        while True:
            try:
                await self._quiet()
                while self.view.due and await self._record_once():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("recording a plan failed", error=repr(exc))
                await asyncio.sleep(RETRY_S)

    async def _wait_for_pool(self) -> None:
        said = False
        while not self.view.state.exists:
            if not said and self.follower.store is not None:
                log.info("waiting for a pool in the event log (load one with `haplan pool create`)")
                said = True
            await asyncio.sleep(POOL_POLL_S)
        log.info("planning the pool of the event log", pool=self.view.state.name)

    async def _quiet(self) -> None:
        """Return once events have arrived and the log has been quiet for a moment (at most
        MAX_WAIT_S after the first), with the view at the log's head."""
        arrived = self.follower.arrived
        await arrived.wait()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MAX_WAIT_S
        while True:
            arrived.clear()
            await asyncio.sleep(self._quiet_s)
            if not arrived.is_set() or loop.time() >= deadline:
                break
        store = self.follower.store
        if store is not None:
            try:
                head = await store.last_seq()
            except EventStoreError:
                return  # the append will find out where the log is
            await self.follower.settle_at(head, CATCH_UP_S)

    async def _record_once(self) -> bool:
        """One attempt at recording the plan of the view's state; True to decide again (the
        log moved meanwhile), False when done (recorded, or nothing can be)."""
        view = self.view
        state, seq, epoch = view.state, view.last_seq, view.newest_epoch
        pool = view.live()
        if isinstance(pool, PoolError):
            if self._unplannable_seq != seq:
                log.warning("cannot plan the pool of the event log", seq=seq, error=str(pool))
                self._unplannable_seq = seq
            return False
        capacity = await self._capacity(pool)
        if view.last_seq != seq:
            return True  # decided on an old state: the next attempt sees the new one
        stamp = Stamp(self._wall(), epoch, _new_id(), _new_id())
        return await self._append(plan_events(state, capacity, seq, stamp), seq)

    async def _capacity(self, pool: Pool) -> FailureCapacity:
        found = self._memo.get(pool)
        if found is not None:
            self._memo.move_to_end(pool)
            return found
        started = time.perf_counter()
        capacity = await asyncio.to_thread(max_failures, pool, **self._limit)
        self.metrics.compute_seconds.labels("log").observe(time.perf_counter() - started)
        self._memo[pool] = capacity
        if len(self._memo) > MEMO:
            self._memo.popitem(last=False)
        return capacity

    async def _append(self, events: list[Event], expected: int) -> bool:
        store = self.follower.store
        if store is None:
            return False
        unreachable = False
        while True:
            try:
                last = await store.append(events, expected)
            except ConcurrencyConflict as exc:
                self.metrics.append_conflicts.inc()
                log.info("plan not recorded: the log moved", expected=exc.expected, seq=exc.actual)
                await self.follower.settle_at(exc.actual, CATCH_UP_S)
                return True
            except EventStoreUnavailable as exc:
                # The append may have landed: the same events with the same expected sequence
                # are safe to send again (the store's contract).
                if not unreachable:
                    log.warning("plan not acknowledged; retrying", error=str(exc))
                unreachable = True
                await asyncio.sleep(RETRY_S)
                continue
            except EventStoreError as exc:
                log.error("the event log refused a plan", error=str(exc))
                return False
            break
        for event in events:
            self.metrics.recorded.labels(event.type).inc()
        plan = events[0]
        log.info("plan recorded", seq=last, summary=plan.summary(),
                 alarm=events[1].type if len(events) > 1 else None)  # fmt: skip
        await self.follower.reach(last, CATCH_UP_S)
        return False
