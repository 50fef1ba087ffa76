"""What the leader does with the log: take office, record decisions, step down.

The order of every tick is what keeps a deposed leader harmless: decisions are appended with
the expected last sequence BEFORE any order or acceptance is sent, so a leader whose append
fails sends nothing, and a new leader's leader_elected makes every append of the previous one
fail (services.common.eventstore: ConcurrencyConflict).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from schemas.events import Event, LeaderElected
from services.arbiter.logview import LogView, catch_up
from services.arbiter.metrics import ArbiterMetrics
from services.arbiter.record import to_event
from services.arbiter.view import Decision, LivenessView, VmRunning
from services.common.eventstore import (
    ConcurrencyConflict,
    EventStore,
    EventStoreError,
    EventStoreUnavailable,
)
from services.common.logging import get_logger

log = get_logger("haplan.arbiter")

# Conflicts with operators' appends are retried this many times within one tick.
CONFLICT_RETRIES = 3


class Deposed(Exception):
    """This arbiter must stop leading; the message says why."""


def _wall() -> datetime:
    return datetime.now(UTC)


class Office:
    """The leader's hold on the log for one epoch. Raises Deposed when it must step down."""

    def __init__(
        self,
        store: EventStore,
        view: LogView,
        ident: str,
        epoch: int,
        metrics: ArbiterMetrics,
        wall: Callable[[], datetime] = _wall,
    ) -> None:
        self.store, self.view, self.ident, self.epoch = store, view, ident, epoch
        self.metrics, self._wall = metrics, wall
        self.elected = False
        # An append whose outcome is unknown (no acknowledgement): retried as it is, with
        # the same expected sequence, before anything else (the store's contract).
        self.unacked: tuple[list[Event], int] | None = None
        self._election: LeaderElected | None = None

    def stamp(self, decisions: Sequence[Decision], before: LivenessView) -> list[Event]:
        """The events recording `decisions`; `before` is the core's view before the tick
        (a VM that runs now ran the order it was given)."""
        at = self._wall()
        events = []
        for d in decisions:
            instance = None
            if isinstance(d, VmRunning):
                vm = before.vms.get(d.vm)
                instance = vm.order_id if vm is not None else None
            events.append(
                to_event(d, epoch=self.epoch, at=at, event_id=str(uuid.uuid4()), instance=instance)
            )
        return events

    async def refresh(self) -> None:
        """Fold what others appended; Deposed if a newer leader wrote."""
        await catch_up(self.view, self.store)
        if self.view.written_after(self.epoch):
            raise Deposed(f"a newer leader (epoch {self.view.newest_epoch}) wrote to the log")

    async def take(self) -> bool:
        """Append leader_elected; True once it is in the log (the log is fenced)."""
        if self.unacked is None:
            await self.refresh()
            if self._election is None:
                self._election = LeaderElected(
                    event_id=str(uuid.uuid4()), at=self._wall(), epoch=self.epoch,
                    arbiter=self.ident,
                )  # fmt: skip
            if not await self.append([self._election], self.view.last_seq):
                return False
        elif not await self.retry():
            return False
        self.elected = True
        log.info("leader elected", epoch=self.epoch, seq=self.view.last_seq)
        return True

    async def retry(self) -> bool:
        """Retry the unacknowledged append, if any; True once nothing is pending."""
        if self.unacked is None:
            return True
        events, expected = self.unacked
        return await self.append(events, expected)

    async def append(self, events: list[Event], expected: int) -> bool:
        """Append with the expected last sequence. True: durable and folded. False: the
        outcome is unknown (kept in `unacked`). Deposed: a newer leader wrote, or the store
        refused the events (the core's view can no longer be trusted)."""
        for _ in range(CONFLICT_RETRIES):
            try:
                last = await self.store.append(events, expected)
            except ConcurrencyConflict as exc:
                self.metrics.append_conflicts.inc()
                log.warning("append refused: the log moved", expected=exc.expected, seq=exc.actual)
                self.unacked = None
                await self.refresh()  # Deposed if a newer leader wrote
                expected = self.view.last_seq  # operators' appends only: retry after them
                continue
            except EventStoreUnavailable as exc:
                log.warning("append not acknowledged; retrying", error=str(exc))
                self.unacked = (events, expected)
                return False
            except EventStoreError as exc:
                raise Deposed(f"the event log refused an append: {exc}") from None
            self.unacked = None
            self.view.appended(events, last)
            for e in events:
                self.metrics.decisions.labels(type=e.type).inc()
                if e.type == "vm_restart_ordered":
                    self.metrics.restarts_ordered.inc()
            return True
        raise Deposed("the event log kept moving under the leader's appends")
