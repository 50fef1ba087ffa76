"""The collector's imperative shell around its pure core, one incarnation from start to exit.

Every heartbeat interval: while VMs of an earlier incarnation are alive on the host, they are
killed again and nothing else proves life (no lease, no slot: a later incarnation's slot is the
earlier one's fenced mark); if the watchdog's deadline has passed (the collector hung) the core
hears that it fired; the lease renewal and the store's work (slot written and read back, every
slot read) run side by side, each bounded by one interval, and a renewal that found the lease
revoked fences at once; the VMs that stopped are reaped; the core's tick is carried out in the
order its docstring gives: kill the VMs if it fences, pet the watchdog, start the ordered VMs,
publish. A fence ends the incarnation with EXIT_FENCED.

The fence sequence: kill every VM (through the watchdog too), confirm that none runs, and only
then write the fenced mark (slot and bus). A kill that misses its deadline or leaves a VM alive
gets no mark and the watchdog is never disarmed: it fires, and the arbiter's slow path declares
the host dead.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping

from nats.aio.client import Client

from schemas.pool import VM
from schemas.reports import HostReport
from services.collector.core import Collector, FenceMark, Phase, Tick
from services.collector.devices import LibvirtSetup
from services.collector.guarded_vms import GuardedVMs
from services.collector.inbound import Inbound
from services.collector.lease import LeaseKeeper
from services.collector.metrics import CollectorMetrics
from services.collector.options import CollectorOptions
from services.collector.outbound import Outbound
from services.common.exit_codes import EXIT_FENCED
from services.common.heartbeat_store import HeartbeatStore
from services.common.lease_bucket import LEASE_BUCKET
from services.common.logging import get_logger
from services.common.servers import Mover
from services.common.store_root import StoreRoot
from services.common.store_worker import StoreWorker
from services.common.timers import Timers

log = get_logger("haplan.collector")

clock = time.monotonic


class CollectorShell:
    def __init__(
        self,
        nc: Client,
        options: CollectorOptions,
        pool_hosts: tuple[str, ...],
        timers: Timers,
        metrics: CollectorMetrics,
        nudged: asyncio.Event | None = None,
        vm_specs: Callable[[], Mapping[str, VM]] = dict,
    ) -> None:
        """`vm_specs`: the pool's VMs now (the libvirt driver checks domains against them)."""
        host = options.host
        self.host, self.timers, self.metrics = host, timers, metrics
        self.incarnation = str(uuid.uuid4())
        # Set by a start order (and by a reconnection, services.collector.service): the next
        # interval runs at once, so a restart waits for one fresh proof of life rather than
        # for the rest of the interval. Also set from libvirt's event thread when a guest
        # stopped, so that its exit is reaped and reported at once.
        self.nudged = nudged if nudged is not None else asyncio.Event()
        loop = asyncio.get_running_loop()

        def wake() -> None:  # from libvirt's threads: the event is the loop's own
            loop.call_soon_threadsafe(self.nudged.set)

        libvirt = LibvirtSetup(options.libvirt_uri, vm_specs, wake)
        self.vms = GuardedVMs(
            host, options.store, timers, options.vm_driver, options.watchdog_choice, now=clock(),
            fencing=lambda: self.core.phase is Phase.FENCED, libvirt=libvirt,
        )  # fmt: skip
        root = options.store_root or StoreRoot(options.store)
        self.store = StoreWorker(HeartbeatStore(options.store, options.signer), root)
        self.lease = LeaseKeeper(
            nc, host, self.incarnation, timers, timeout_s=timers.interval_s,
            replicas=options.bus.stream_replicas,
        )  # fmt: skip
        self.core = Collector(
            host, self.incarnation, pool_hosts, timers, booted_at=clock(),
            device_watchdog=options.watchdog_choice.kind == "linux",
        )  # fmt: skip
        # Renewals unanswered through a server that is up but cut off from the lease bucket's
        # leader move this collector to another server (docs/protocol.md, NATS cluster faults).
        self.mover = Mover(nc, spacing_s=timers.interval_s)
        self._renewed_once = False
        self.out = Outbound(nc, host, metrics)
        self.inbound = Inbound(nc, self, frozenset(pool_hosts))
        self._seen: tuple[object, ...] | None = None
        self._store_problem: str | None = None
        self._lease_ok: bool | None = None
        self._asked = False
        self._leftovers = True  # earlier incarnations' VMs not yet confirmed dead
        self._report_seq = 0

    # Life -----------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> int:
        await self.inbound.subscribe()
        log.info(
            "collector started",
            host=self.host,
            incarnation=self.incarnation,
            timeout_s=self.timers.timeout_s,
            interval_s=self.timers.interval_s,
        )
        try:
            return await self._loop(stop)
        except Exception as exc:
            # A bug in the shell leaves the VMs without a collector: fence rather than let
            # them run unwatched until the watchdog's deadline.
            log.exception("the collector failed", error=repr(exc))
            reason = f"the collector failed: {exc!r}"
            self.core.fence(reason)
            return await self._fence(reason, None)
        finally:
            await self.inbound.unsubscribe()

    async def _loop(self, stop: asyncio.Event) -> int:
        next_at = clock()
        while not stop.is_set():
            self.nudged.clear()
            started = clock()
            status = await self._interval()
            if status is not None:
                return status
            next_at = max(next_at + self.timers.interval_s, clock())
            await _first_of(stop, self.nudged, timeout_s=next_at - clock())
            if self.nudged.is_set():
                # Early, but never more than four intervals' work per interval, whatever
                # arrives on the bus.
                next_at = max(clock(), started + self.timers.interval_s / 4)
                await _first_of(stop, timeout_s=next_at - clock())
        return await self._stop_cleanly()

    async def _interval(self) -> int | None:
        if self._leftovers and self.core.phase is Phase.JOINING:
            await self._kill_leftovers()
        now = clock()
        if self.core.phase is not Phase.FENCED and self.vms.fired(now):
            self.core.watchdog_fired()
        if self.core.phase is not Phase.FENCED and not self.core.waits_for_earlier_vms:
            await self._prove_life(now)
            # Again after the awaits: a collector frozen in them (SIGSTOP, a stalled machine)
            # wakes to a watchdog that fired meanwhile, and must say so rather than fence for
            # the lease that expired while it slept.
            if self.vms.fired(clock()):
                self.core.watchdog_fired()
        self._reap()
        tick = self.core.tick(clock())
        if tick.fence:
            return await self._fence(tick.reason, tick)
        await self._carry_out(tick)
        return None

    async def _kill_leftovers(self) -> None:
        """Before its first proof of life, and again every interval while any survives: a
        join (and a slot) of this incarnation promises that the earlier ones' VMs are dead."""
        alive = await self.vms.kill_leftovers(self.timers.interval_s)
        self.core.earlier_vms_alive(None if alive is None else len(alive))
        self._leftovers = alive is None or bool(alive)
        if alive:
            log.error("VMs of an earlier incarnation are still alive: not joining",
                      pids=alive)  # fmt: skip

    async def _prove_life(self, now: float) -> None:
        deadline = self.timers.interval_s
        slot = self.core.slot(now)
        renewed, cycle = await asyncio.gather(
            self._renew(deadline), self.store.cycle(slot, deadline, self.inbound.pool)
        )
        if renewed is not None:
            self.core.lease_renewed(renewed)
        elif self.lease.revoked:
            # Read back, not guessed: the key holds no value of this incarnation (a lost ack
            # of its own renewal reads back as its own value and is adopted).
            self.core.lease_revoked()
        self.core.slot_written(now, cycle.written)
        pool = self.inbound.pool
        self.core.slots_read(
            cycle.read_at if cycle.read_at is not None else clock(),
            None if cycle.slots is None else [s for s in cycle.slots if s.host in pool],
            cycle.records,
        )
        self.metrics.slot_writes.labels("ok" if cycle.written else "failed").inc()
        if cycle.problem != self._store_problem:
            if cycle.problem is None:
                log.info("the heartbeat store works again")
            else:
                log.warning("the heartbeat store fails", problem=cycle.problem)
            self._store_problem = cycle.problem

    async def _renew(self, deadline_s: float) -> float | None:
        sent_at = clock()
        try:
            ok = await asyncio.wait_for(self.lease.renew(), deadline_s)
        except TimeoutError:
            ok = False
        self.metrics.lease_renewals.labels("ok" if ok else "failed").inc()
        now = clock()
        if ok:
            self.mover.answered()
            self._renewed_once = True
        elif self._renewed_once and not self.lease.revoked and self.core.peer_renews_fresher(now):
            # Only while a peer renews and this host does not: in a stall of the whole cluster
            # a move gains nothing, and one caught mid-move when the stall ends renews after
            # its peers, which ends the global bus outage for it (it would fence). Not before
            # a first renewal: until an arbiter creates the bucket, every renewal is refused.
            self.mover.unanswered(now)
        if ok != self._lease_ok:
            if ok:
                log.info("host lease renewed", bucket=LEASE_BUCKET)
            elif self._lease_ok is not None:
                log.warning("host lease renewal failed")
            self._lease_ok = ok
        return sent_at if ok else None

    def _reap(self) -> None:
        for f in self.vms.late_failures(clock()):
            if f.vm not in self.vms.running():
                self.core.vm_stopped(f.vm)
        for e in self.vms.reap(clock()):
            if e.vm not in self.vms.running():
                self.core.vm_stopped(e.vm)
            self.metrics.vm_exits.labels(e.cause).inc()

    # Acting on a tick -----------------------------------------------------------------------

    async def _carry_out(self, tick: Tick) -> None:
        now = clock()
        self._pet(tick, now)
        for order in tick.starts:
            if self.vms.start(order, now) is not None:
                self.core.vm_stopped(order.vm)
        self._note(tick)
        await self.out.tick(tick, self.report(tick))
        if tick.join is not None and not self._asked:
            self._asked = True
            log.info("asking the arbiter to join the liveset")

    def _pet(self, tick: Tick, now: float) -> None:
        # Only the core decides (services.collector.core): while joining it gives no pet
        # while VMs of an earlier incarnation live.
        if tick.pet_until is not None:
            self.vms.pet(max(0.0, tick.pet_until - now), now)

    def report(self, tick: Tick) -> HostReport:
        now = clock()
        self._report_seq += 1
        return HostReport(
            host=self.host,
            incarnation=self.incarnation,
            seq=self._report_seq,
            phase=tick.phase.value,
            reason=tick.reason,
            lease_ok=tick.heartbeat.lease_ok,
            store_ok=tick.heartbeat.store_ok,
            vms=self.vms.runner.running(),
            exits=self.vms.runner.recent_exits(now),
            failed_starts=self.vms.runner.recent_failures(now),
        )

    def _note(self, tick: Tick) -> None:
        """Log and export what changed: phase and the reason behind it."""
        self.metrics.phase.state(tick.phase.value)
        self.metrics.vms_running.set(len(self.vms.running()))
        seen = (tick.phase, tick.reason)
        if seen != self._seen:
            log.info("collector phase", phase=tick.phase.value, reason=tick.reason)
            self._seen = seen

    # Ending ---------------------------------------------------------------------------------

    async def _kill_vms(self, fire: bool) -> bool:
        """Kill every VM; whether each one is confirmed dead (the kill returned in time and
        the driver runs none)."""
        returned = await self.vms.kill_all(fire)
        self._reap()
        alive = self.vms.running()
        self.metrics.vms_running.set(len(alive))
        if returned and not alive:
            return True
        log.error("the kill is not confirmed: VMs may still run; no fenced mark, the watchdog "
                  "stays armed", vms=alive, kill_returned=returned)  # fmt: skip
        return False

    async def _fence(self, reason: str | None, tick: Tick | None) -> int:
        reason = reason or "fenced"
        log.error("fencing this host", reason=reason, incarnation=self.incarnation)
        self.metrics.fences.labels(reason).inc()
        self.metrics.phase.state("fenced")
        confirmed = await self._kill_vms(fire=True)
        mark = self.core.vms_dead(clock()) if confirmed else None
        await self._say_fenced(mark, tick)
        log.error("fenced: exiting for the supervisor to start a new incarnation",
                  status=EXIT_FENCED, marked=mark is not None)  # fmt: skip
        return EXIT_FENCED

    async def _stop_cleanly(self) -> int:
        """SIGTERM: the host goes down. Its VMs die with it and, once that is confirmed, it
        says so (the arbiter may restart them elsewhere at once) and the watchdog stands
        down. A kill that is not confirmed leaves no mark and the watchdog armed: it fires,
        and the arbiter's slow path takes over (EXIT_FENCED)."""
        log.info("stopping: killing this host's VMs", vms=self.vms.running())
        self.core.stopping()
        confirmed = await self._kill_vms(fire=False)
        mark = self.core.vms_dead(clock()) if confirmed else None
        if mark is None:
            await self._say_fenced(None, None)
            log.error("stopped without a fenced mark: the watchdog is left to fire",
                      incarnation=self.incarnation, status=EXIT_FENCED)  # fmt: skip
            return EXIT_FENCED
        await self._say_fenced(mark, None)
        await self.vms.disarm()
        log.info("collector stopped", incarnation=self.incarnation)
        return 0

    async def _say_fenced(self, mark: FenceMark | None, tick: Tick | None) -> None:
        """Publish the last tick, and the mark (store and bus, each if it can be reached)
        when every VM is confirmed dead."""
        if mark is not None:
            problem = await self.store.write(mark.slot, self.timers.interval_s)
            if problem is None:
                log.info("slot marked fenced")
            else:
                log.warning("cannot mark the slot fenced", problem=problem)
        if tick is not None:
            await self.out.tick(tick, self.report(tick))
        if mark is not None:
            await self.out.fenced(mark.notice)
        await self.out.flush(self.timers.interval_s)


async def _first_of(*events: asyncio.Event, timeout_s: float) -> None:
    """Wait until one of `events` is set, or `timeout_s` passed."""
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, timeout=max(0.0, timeout_s), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
