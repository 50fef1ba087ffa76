"""`haplan arbiter`: the NATS shell around the pure arbiter core (services.arbiter.core).

Every candidate follows the log and watches the leader lease; the one holding it leads:
- on winning the lease it folds the log, appends leader_elected (the log's fence against the
  previous leader) and hands the core the decisions the log records;
- it feeds the core what the bus says (host leases from KV, heartbeats, store observations,
  fenced notices, join requests) with times from its own monotonic clock, and, given a store
  (`--store DIR`), what its own reads of the heartbeat store show (services.arbiter.own_store);
- every interval it ticks the core, appends the decisions (expected last sequence) and only
  then publishes the beacon, the orders and the join acceptances; a host declared dead has its
  lease revoked;
- it answers `ha.op.status`.
It steps down when its lease is lost or not renewed within the lease time, or when a newer
leader has written to the log. Standbys only follow the log and watch the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import nats.errors
from nats.aio.client import Client

from schemas.limits import DEFAULT_MAX_IN_FLIGHT
from services.arbiter.core import Arbiter, ArbiterTick
from services.arbiter.feeds import BusFeeds
from services.arbiter.inputs import LeaseWatch, StatusReplies
from services.arbiter.leader import LeaderLease
from services.arbiter.leases import HostLease, open_bucket, revoke
from services.arbiter.logview import LogView, catch_up
from services.arbiter.metrics import ArbiterMetrics
from services.arbiter.office import Deposed, Office
from services.arbiter.ops import OperatorRequests
from services.arbiter.own_store import OwnStoreReads
from services.arbiter.record import config_of
from services.arbiter.view import Decision, DeclaredDead
from services.arbiter.wire import BEACON, command_subject, encode
from services.bmc.runner import ChainRunner
from services.common.bus import PingPolicy, tune_pings
from services.common.eventstore import EventStoreError, EventStoreUnavailable, JetStreamEventStore
from services.common.logging import get_logger
from services.common.settings import BusSettings
from services.common.store_root import StoreRoot
from services.common.timers import Timers

log = get_logger("haplan.arbiter")

Clock = Callable[[], float]
POOL_POLL_S = 1.0
_T = TypeVar("_T")
# A host lease watch that hears nothing for this many intervals starts again (LeaseWatch):
# every member renews each interval, and a host is suspected only after T (10 intervals).
SILENT_WATCH_INTERVALS = 3


class ArbiterService:
    def __init__(
        self,
        nc: Client,
        settings: BusSettings,
        ident: str,
        *,
        metrics: ArbiterMetrics | None = None,
        clock: Clock = time.monotonic,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        store_root: StoreRoot | None = None,
    ) -> None:
        self.nc, self.settings, self.ident, self.clock = nc, settings, ident, clock
        # This arbiter's mount of the heartbeat store; None: the timeout path falls back on a
        # collector's reading (services.arbiter.rules, TIMEOUT_PATH).
        self.store_root = store_root
        self.own_store: OwnStoreReads | None = None
        self.metrics = ArbiterMetrics() if metrics is None else metrics
        # VMs ordered and not yet reported at once (services.arbiter.orchestrate).
        self.max_in_flight = max_in_flight
        self.view = LogView()
        self.office: Office | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._revocations: set[asyncio.Task[None]] = set()
        self._held: ArbiterTick | None = None  # sent once its decisions are acknowledged
        self._opened = False
        self._configured_at = 0  # the configuration change the core last folded in
        # Held from a tick's decisions to their append, and around operators' appends, so
        # that one writer at a time decides on a view that includes every append before it.
        self.writing = asyncio.Lock()
        # Set by open():
        self.store: JetStreamEventStore
        self.core: Arbiter
        self.timers: Timers
        self.lease: LeaderLease
        self.leases: LeaseWatch
        self.status: StatusReplies
        self.ops: OperatorRequests
        self.feeds: BusFeeds
        self.fencer: ChainRunner

    @property
    def leading(self) -> bool:
        return self.office is not None and self.office.elected

    # Start and stop -------------------------------------------------------------------------

    async def open(self, stop: asyncio.Event) -> bool:
        """Open the log, wait for a pool in it, then the lease bucket and the subscriptions.
        False if `stop` was set first."""
        store = await self._open_store(stop)
        if store is None:
            return False
        self.store = store
        said = False
        while not stop.is_set():
            if await _answered(lambda: catch_up(self.view, store), "the event log", stop) is None:
                return False
            if self.view.state.origin is not None:
                break
            if not said:
                log.info("waiting for a pool in the event log (load one with `haplan pool create`)")
                said = True
            await _sleep_or_stop(stop, POOL_POLL_S)
        pool = self.view.state.origin
        if pool is None:
            return False
        self.timers = Timers.from_timeout(self.view.state.ha.timeout_s)
        # A hung server must count as a lost bus within T/3 (docs/protocol.md).
        tune_pings(self.nc, PingPolicy.for_timeout(self.timers.timeout_s))
        self.core = Arbiter(
            self.ident, pool, self.timers, max_in_flight=self.max_in_flight,
            reads_store=self.store_root is not None,
        )  # fmt: skip
        if self.store_root is not None:
            self.own_store = OwnStoreReads(self.store_root, self.core, self.clock)
        js = self.nc.jetstream(timeout=max(0.5, self.timers.leader_lease_s / 2))
        replicas = self.settings.stream_replicas
        kv = await _answered(
            lambda: open_bucket(js, self.timers, replicas), "the lease bucket", stop
        )  # fmt: skip
        if kv is None:
            return False
        self.lease = LeaderLease(kv, self.ident, self.timers.leader_lease_s, self.clock)
        self.leases = LeaseWatch(
            self.nc, kv, self.core, self.metrics, self.clock,
            silence_s=SILENT_WATCH_INTERVALS * self.timers.interval_s,
        )  # fmt: skip
        if await _answered(self._watch_leases, "the host lease watch", stop) is None:
            return False
        self.status = StatusReplies(self)
        self.ops = OperatorRequests(self)
        self.feeds = BusFeeds(self.nc, self.core, self.metrics, self.clock)
        await self.feeds.subscribe()
        self.fencer = ChainRunner(self, self.clock, self.feeds.fenced.set)
        self._opened = True
        log.info("arbiter ready", pool=pool.name, timeout_s=self.timers.timeout_s)
        return True

    async def _watch_leases(self) -> bool:
        await self.leases.start()
        return True

    async def _open_store(self, stop: asyncio.Event) -> JetStreamEventStore | None:
        while not stop.is_set():
            try:
                return await JetStreamEventStore.open(
                    self.nc,
                    replicas=self.settings.stream_replicas,
                    request_timeout_s=self.settings.request_timeout_s,
                )
            except EventStoreUnavailable as exc:
                log.warning("the event log is not reachable yet", error=str(exc))
                await _sleep_or_stop(stop, POOL_POLL_S)
        return None

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set, then leave cleanly (a leader releases its lease)."""
        if not await self.open(stop):
            return
        self._tasks = [
            asyncio.create_task(self._every_interval(self.campaign), name="lease"),
            asyncio.create_task(self._every_interval(self.step, self.feeds.fenced), name="tick"),
        ]
        if self.own_store is not None:
            self._tasks.append(
                asyncio.create_task(self._every_interval(self._read_store), name="store")
            )
        await stop.wait()
        await self.close()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in [*self._tasks, *self._revocations]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._opened:
            await self.fencer.close()
            # Released first, so that a standby takes over at once rather than after expiry.
            await self.lease.release()
            await self._step_down("the arbiter is stopping", "stopping")
            await self.leases.stop()
            await self.feeds.unsubscribe()

    async def _every_interval(
        self, step: Callable[[], Any], early: asyncio.Event | None = None
    ) -> None:
        """Run `step` every interval, and at once when `early` is set."""
        interval = self.timers.interval_s
        unreachable = False
        while True:
            started = self.clock()
            if early is not None:
                early.clear()  # this step sees whatever set it
            try:
                await step()
                unreachable = False
            except asyncio.CancelledError:
                raise
            except (EventStoreError, nats.errors.Error, TimeoutError, OSError) as exc:
                if not unreachable:  # once per outage, not every interval
                    log.warning("the bus does not answer; retrying", error=str(exc) or repr(exc))
                unreachable = True
            except Exception as exc:  # a bug: logged with its traceback, never the end
                log.exception("arbiter step failed", error=repr(exc))
            left = max(0.0, started + interval - self.clock())
            if early is None:
                await asyncio.sleep(left)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(early.wait(), left)

    async def _read_store(self) -> None:
        """This arbiter's own read of the heartbeat store, leader or not: stillness is
        measured on its own clock from the reads it made (services.arbiter.stillness)."""
        if self.own_store is not None:
            await self.own_store.read(self.timers.interval_s)

    # The lease ------------------------------------------------------------------------------

    async def campaign(self) -> None:
        """One round of the lease: renew it while leading, try to take it otherwise."""
        if self.lease.epoch is not None:
            if not await self.lease.renew():
                await self._step_down("the leader lease was lost", "lease-lost")
            return
        epoch = await self.lease.try_acquire()
        if epoch is not None:
            log.info("won the leader lease", epoch=epoch)
            self.office = Office(self.store, self.view, self.ident, epoch, self.metrics)

    # The tick -------------------------------------------------------------------------------

    async def step(self) -> None:
        """One interval: a standby follows the log; a lease holder takes office, then ticks."""
        now = self.clock()
        await self.feeds.follow_pool()  # hosts added or removed since the last step
        office = self.office
        if office is not None and not self.lease.held(now):
            await self._step_down(
                "no renewal of the leader lease within its lease time", "lease-lapsed"
            )
            office = None
        if office is None:
            await catch_up(self.view, self.store)
            return
        try:
            if not office.elected:
                if await office.take():
                    await self._gain(office)
                return
            async with self.writing:
                await self._tick(office)
        except Deposed as exc:
            await self._step_down(str(exc), "deposed")

    async def _gain(self, office: Office) -> None:
        self.core.gain_leadership(self.clock(), office.epoch, self.view.decisions)
        self._configured_at = self.view.config_seq
        self.metrics.leader.set(1)
        self.metrics.epoch.set(office.epoch)
        await self.status.start()
        await self.ops.start()

    async def _tick(self, office: Office) -> None:
        if office.unacked is not None:
            if await office.retry():
                held, self._held = self._held, None
                if held is not None:
                    self._revoke_dead(held.decisions)
                await self._send(held, office)
            return
        await office.refresh()
        self.configure_core()
        before = self.core.view
        out = self.core.tick(self.clock())
        if out.decisions:
            events = office.stamp(out.decisions, before)
            if not await office.append(events, self.view.last_seq):
                self._held = out  # sent once the append is acknowledged
                return
            self._revoke_dead(out.decisions)
        await self._send(out, office)

    async def record(self, decisions: Sequence[Decision]) -> bool:
        """Append `decisions` as this leader would (tests drive a stale leader with it).
        True once durable; a newer leader's write makes it step down and return False."""
        office = self.office
        if office is None:
            return False
        try:
            return await office.append(office.stamp(decisions, self.core.view), self.view.last_seq)
        except Deposed as exc:
            await self._step_down(str(exc), "deposed")
            return False

    async def _send(self, out: ArbiterTick | None, office: Office) -> None:
        self._held = None
        if out is None or self.office is not office or not self.lease.held(self.clock()):
            return  # stepped down meanwhile: a former leader sends nothing
        if out.beacon is not None:
            await self.nc.publish(BEACON, encode(out.beacon))
        for order in out.orders:
            await self.nc.publish(command_subject(order.host), encode(order))
        for accepted in out.accepted:
            await self.nc.publish(command_subject(accepted.host), encode(accepted))
        for stop in out.stops:
            await self.nc.publish(command_subject(stop.host), encode(stop))
        for power_off in out.power_offs:
            self.fencer.start(power_off, office)

    def configure_core(self) -> None:
        """Hand the core the log's configuration when an operator changed it."""
        if self.view.config_seq > self._configured_at:
            self._configured_at = self.view.config_seq
            self.core.configure(config_of(self.view.state), self.clock())

    def _revoke_dead(self, decisions: Sequence[Decision]) -> None:
        for d in decisions:
            if isinstance(d, DeclaredDead):
                lease = self.leases.current(d.host)
                if lease is not None and lease.incarnation == d.evidence.incarnation:
                    task = asyncio.create_task(self._revoke(lease))
                    self._revocations.add(task)
                    task.add_done_callback(self._revocations.discard)

    async def _revoke(self, lease: HostLease) -> None:
        try:
            if await revoke(self.leases.kv, lease):
                self.metrics.leases_revoked.inc()
                log.info("lease revoked", host=lease.host, incarnation=lease.incarnation)
        except Exception as exc:
            log.warning("could not revoke a lease", host=lease.host, error=repr(exc))

    async def _step_down(self, reason: str, kind: str) -> None:
        """Stop leading at once: `reason` for the log, `kind` for the metric's label."""
        office, self.office = self.office, None
        if office is None:
            return
        say = log.info if kind == "stopping" else log.warning
        say("stepping down", reason=reason, epoch=office.epoch)
        self.lease.abandon()
        self.core.lose_leadership()
        self._held = None
        self.metrics.leader.set(0)
        self.metrics.epoch.set(0)
        self.metrics.step_downs.labels(reason=kind).inc()
        await self.status.stop()
        await self.ops.stop()


async def _answered(
    request: Callable[[], Awaitable[_T]], what: str, stop: asyncio.Event
) -> _T | None:
    """`request()`'s result, asked again while the bus does not answer (a cluster still
    electing its JetStream leaders, a loaded machine answering after the client's deadline):
    a service starting beside its NATS servers waits for them rather than exits. None when
    `stop` is set first."""
    said = False
    while not stop.is_set():
        try:
            return await request()
        except (EventStoreError, nats.errors.Error, TimeoutError, OSError) as exc:
            if not said:  # once, not every try
                log.warning("the bus does not answer yet; retrying", what=what,
                            error=str(exc) or repr(exc))  # fmt: skip
                said = True
        await _sleep_or_stop(stop, POOL_POLL_S)
    return None


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
