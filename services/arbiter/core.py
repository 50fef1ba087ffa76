"""The arbiter's decision core: no IO, no clock; the shell passes the leader's monotonic time.

Only the leader decides. Its inputs: lease renewals (from the KV bucket), fenced notices,
store observations and heartbeats (from the bus), join requests, leadership gained or lost,
and, for an arbiter given a store, its own reads of the heartbeat store (`store_read`: the
timeout path's stillness, services.arbiter.stillness). Every interval `tick(now)` returns
the decisions to append to the log (in order), the orders and join acceptances to send, and
the next beacon. The shell appends the decisions with
the expected-last-sequence guard before it sends anything, and when it appends a declaration
it also revokes the dead incarnation's lease (compare-and-set on its revision), so that a
renewal still in flight cannot bring that incarnation back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from schemas.limits import DEFAULT_MAX_IN_FLIGHT
from schemas.liveness import FencedMark, PowerOffProof, SignedRecord, SuspectEvidence
from schemas.messages import (
    Beacon,
    FencedNotice,
    JoinAccepted,
    JoinRequest,
    NetworkHeartbeat,
    StartOrder,
    StoreObservation,
)
from schemas.pool import Pool
from schemas.reports import HostReport, StopOrder
from schemas.slot import Slot
from services.arbiter.evidence import NEVER, Evidence, Mark
from services.arbiter.guard import Suspicions, engage_evidence, guard_step, release_evidence
from services.arbiter.operator import (
    OpRefused,
    migration_order,
    migration_source,
    shutdown,
    start_order,
)
from services.arbiter.orchestrate import Orchestrator
from services.arbiter.power import PowerFencing, PowerOffOrder, slot_still_for_t
from services.arbiter.rules import DEAD_RULES, SUSPICION, DeadRule, HostEvidence, declare_dead
from services.arbiter.stillness import OwnSlot, RecordOf, StoreWatch, signed_slot
from services.arbiter.testimony import (
    Forgery,
    Testimony,
    backs_mark,
    claims_death,
    join_problem,
    own_word,
)
from services.arbiter.view import (
    Configured,
    Decision,
    DeclaredDead,
    Fenced,
    GuardOff,
    GuardOn,
    HostRecord,
    Joined,
    LivenessView,
    PoolConfig,
    Rejoined,
    RestartOrdered,
    Suspected,
    VmEvacuated,
    VmLost,
    VmRunning,
    VmShutDownByAdmin,
    VmStartFailed,
    fold,
    replay,
)
from services.arbiter.vm_reports import report_decision
from services.common.timers import Timers

_Decide = Callable[[Decision], None]
# Forgeries kept until the shell takes them: a flood is counted, not a memory leak.
MAX_FORGERIES = 256
# A VM that ran this many T before it stopped starts its count of tries anew (VmLost.stable):
# a VM that fails once a month is not a VM that fails in a loop.
STABLE_AFTER_T = 10.0


@dataclass(frozen=True, slots=True)
class ArbiterTick:
    decisions: tuple[Decision, ...] = ()
    orders: tuple[StartOrder, ...] = ()
    accepted: tuple[JoinAccepted, ...] = ()
    beacon: Beacon | None = None
    stops: tuple[StopOrder, ...] = ()
    # Hosts to power off through their BMCs (services.arbiter.power); the shell runs each
    # host's chain off the event loop and gives the answer to `power_off_answer`.
    power_offs: tuple[PowerOffOrder, ...] = ()


class Arbiter:
    def __init__(
        self,
        ident: str,
        pool: Pool,
        timers: Timers,
        rules: tuple[DeadRule, ...] = DEAD_RULES,
        testimony: Testimony = own_word,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        reads_store: bool = False,
        own_slot: OwnSlot = signed_slot,
        record_of: RecordOf | None = None,
    ) -> None:
        self.ident, self.pool, self.timers, self._rules = ident, pool, timers, rules
        self._testimony = testimony  # swapped only by the simulator's mutation tests
        # The leader's own reading of the heartbeat store (services.arbiter.stillness), fed
        # by `store_read` whether leading or not: None for an arbiter without a store, whose
        # timeout path falls back on a collector's reading (services.arbiter.rules).
        self.store_watch = StoreWatch(own_slot, record_of) if reads_store else None
        self.max_in_flight = max_in_flight
        # The newest report of each host (status shows what the hosts say they run), and
        # since when this leader knows each VM running (VmLost.stable).
        self.reported: dict[str, HostReport] = {}
        self._running_since: dict[str, float] = {}
        self.view = LivenessView.of_pool(pool)
        self._ev: Evidence | None = None
        self._joined_at: dict[str, float] = {}
        self._joins: dict[str, JoinRequest] = {}
        self._running: set[tuple[str, str, str]] = set()
        self._reports: dict[str, HostReport] = {}
        self.orchestra = Orchestrator(timers, max_in_flight)
        # Stop orders being carried out, by VM: the order and whether the VM then moves
        # ("evacuate") or stays halted ("admin").
        self._stops: dict[str, tuple[StopOrder, str]] = {}
        self._moving: set[str] = set()  # evacuated VMs not yet running elsewhere
        # `haplan vm migrate`: the host each migrating VM starts on once its stop is confirmed.
        self._migrations: dict[str, str] = {}
        # VMs the pool file places on a host whose first incarnation just joined, and what
        # that incarnation's heartbeats said since (None: nothing heard yet).
        self._unclaimed: dict[str, tuple[str, str]] = {}
        self._heard: dict[tuple[str, str], frozenset[str] | None] = {}
        self.forgeries: list[Forgery] = []
        # When this leader first found each host suspect (the guard's window, on its clock).
        self._suspect_since: dict[str, float] = {}
        # Hosts with a fencing chain (their BMCs), and this leader's power-off orders.
        self._chained = frozenset(h.name for h in pool.hosts if h.fencing)
        self._power = PowerFencing()

    # Leadership -----------------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        return self._ev is not None

    @property
    def leader_since(self) -> float | None:
        return None if self._ev is None else self._ev.since

    def gain_leadership(self, now: float, term: int, log: Iterable[Decision]) -> None:
        """Lead from `now`: the durable view comes from the log, everything else starts empty."""
        self.view = replay(self.pool, log)
        self._ev = Evidence(self.ident, term, now)
        self._joined_at, self._joins, self._running = {}, {}, set()
        self._reports, self._stops, self._moving = {}, {}, set()
        self._migrations = {}
        self._unclaimed, self._heard = {}, {}
        self.reported, self._running_since = {}, {}
        self._suspect_since = {}
        self._power = PowerFencing()
        self.orchestra = Orchestrator(self.timers, self.max_in_flight)

    def lose_leadership(self) -> None:
        self._ev = None

    # Inputs (ignored unless leading) --------------------------------------------------------

    def lease_renewed(self, host: str, incarnation: str, now: float) -> None:
        if self._ev is not None:
            self._ev.renewed(host, incarnation, now)

    def fenced_notice(self, notice: FencedNotice, now: float) -> bool:
        """Take a host's fenced notice; True when it is the first mark of that incarnation
        (the shell then runs the next tick at once)."""
        return self._mark(
            notice.host, FencedMark(source="bus", incarnation=notice.incarnation), now
        )

    def heartbeat(self, hb: NetworkHeartbeat, now: float) -> bool:
        """Take a heartbeat; False (ignored) when it is not leading, or when the heartbeat
        echoes this leader's beacon and that beacon is older than a report's freshness F: it
        was delivered late (docs/protocol.md). A heartbeat echoing no beacon of this term is
        taken: its age cannot be told, as before beacons were echoed."""
        if self._ev is None:
            return False
        if self._stale(hb.beacon, now):
            return False
        for vm in hb.vms:
            self._running.add((vm, hb.host, hb.incarnation))
        if (hb.host, hb.incarnation) in self._heard:
            self._heard[(hb.host, hb.incarnation)] = frozenset(hb.vms)
        return True

    def _stale(self, beacon: Beacon | None, now: float) -> bool:
        ev = self._ev
        if ev is None or beacon is None or (beacon.leader, beacon.term) != (ev.ident, ev.term):
            return False
        # Forgotten (NEVER) means sent more than 2 F ago.
        return now - ev.beacon_sent_at(beacon) > self.timers.fresh_s

    def host_report(self, report: HostReport, now: float) -> None:
        if self._ev is not None:
            self._reports[report.host] = report
            self.reported[report.host] = report

    def configure(self, config: PoolConfig, now: float) -> None:
        """The configuration the log holds changed (operators' appends): fold it in. HA
        switched back on gives every host a full T_dead to show life, as a new leader does."""
        was_enabled = self.view.ha_enabled
        self.view = fold(self.view, Configured(config))
        self._chained = frozenset(h.name for h in config.hosts if h.fencing)
        if self._ev is not None and config.ha_enabled and not was_enabled:
            self._ev.since = now

    def join_request(self, request: JoinRequest, now: float) -> None:
        if self._ev is not None:
            self._joins[request.host] = request

    def store_observation(self, obs: StoreObservation, now: float) -> bool:
        """Staleness is the observer's word (the timeout path needs the lease silent too); a
        fenced mark or a later incarnation only the host's own signed record can say
        (services.arbiter.testimony). Claims a keyed host's signature does not back are kept
        in `forgeries` for the shell to log and count. True when a first mark of some
        incarnation was recorded (a forgery never is)."""
        ev = self._ev
        if ev is None:
            return False
        ev.observed(obs)
        new = False
        for r in obs.readings:
            host = self.view.hosts.get(r.host)
            if host is None or host.incarnation is None or host.dead:
                continue
            if not claims_death(r, host.incarnation):
                continue
            slot = self._testimony(host.key, r)
            if isinstance(slot, str):
                if host.key is not None and len(self.forgeries) < MAX_FORGERIES:
                    self.forgeries.append(Forgery(obs.observer, r.host, slot))
                continue
            slot_mark = FencedMark(
                source="slot", observer=obs.observer, incarnation=host.incarnation, record=r.record
            )
            if not backs_mark(slot, host.incarnation, host.buried):
                continue
            # Another incarnation's slot backs the mark only if written after the marked one
            # joined (the beacon the writer had seen was sent later): an older record
            # replayed carries an older beacon.
            if slot.incarnation == host.incarnation or ev.beacon_sent_at(
                slot.beacon
            ) > self._joined_at.get(r.host, NEVER):
                new = self._mark(r.host, slot_mark, now) or new
        return new

    def store_read(self, slots: list[tuple[Slot, SignedRecord | None]] | None, now: float) -> None:
        """What this arbiter's own read of the heartbeat store gave (None: the read failed or
        missed its deadline). Taken whether leading or not: stillness is on its own clock."""
        if self.store_watch is not None:
            keys = {name: h.key for name, h in self.view.hosts.items()}
            self.store_watch.read(now, slots, keys)

    def power_off_answer(self, host: str, proof: PowerOffProof, now: float) -> bool:
        """What the host's fencing chain answered to this leader's order (the last agent
        tried, or the one that confirmed). True when it was taken (the answer to a pending
        order of this leadership): the shell then runs the next tick at once, which declares
        the host dead if the answer proves it off."""
        return self._ev is not None and self._power.answered(host, proof)

    def take_forgeries(self) -> list[Forgery]:
        out, self.forgeries = self.forgeries, []
        return out

    def _mark(self, host: str, mark: FencedMark, now: float) -> bool:
        """Record `mark`; True when the host's incarnation had no mark yet."""
        rec = self.view.hosts.get(host)
        if self._ev is None or rec is None or rec.dead or rec.incarnation != mark.incarnation:
            return False  # marks of other incarnations are ignored
        prior = self._ev.marks.get(host)
        # The newest mark counts: "not renewed since" then discounts a renewal that was
        # already in flight when the host fenced, once the host says it again.
        self._ev.marks[host] = Mark(mark, now)
        return prior is None or prior.mark.incarnation != mark.incarnation

    # The tick -------------------------------------------------------------------------------

    def tick(self, now: float) -> ArbiterTick:
        ev = self._ev
        if ev is None:
            return ArbiterTick()
        out: list[Decision] = []

        def decide(d: Decision) -> None:
            out.append(d)
            self.view = fold(self.view, d)
            if isinstance(d, VmRunning):
                self._running_since[d.vm] = now

        for key in sorted(self._running):
            vm = self.view.vms.get(key[0])
            if vm is not None and vm.state == "ordered" and (vm.host, vm.incarnation) == key[1:]:
                decide(VmRunning(*key))
        self._running.clear()
        self._vm_reports(now, decide)
        self._boot(decide)
        accepted = self._vouch_and_join(ev, now, decide)
        power_offs: list[PowerOffOrder] = []
        if self.view.ha_enabled:  # HA off: nobody is suspected, declared dead or restarted
            fresh = ev.fresh_observations(now, self.timers.fresh_s)
            for name in self._members():
                host = self.view.hosts[name]
                assert host.incarnation is not None
                self._suspect(ev, host, host.incarnation, now, decide)
            self._guard(now, decide)  # weighs every suspicion of this tick
            power_offs = self._power_off_orders(ev, now, fresh)
            for name in self._members():
                host = self.view.hosts[name]
                assert host.incarnation is not None
                self._declare(ev, host, host.incarnation, now, fresh, decide)
            accepted += self._vouch_and_join(ev, now, decide)
        # With HA off only the VMs moved off a host in maintenance are placed.
        only = None if self.view.ha_enabled else frozenset(self._moving)
        for d in self.orchestra.place(self.view, self.liveset(now), now, only):
            decide(d)
        self._moving = {vm for vm in self._moving if self.view.vms[vm].state != "running"}
        orders = tuple(
            StartOrder(order_id=v.order_id, vm=v.name, host=v.host, incarnation=v.incarnation)
            for v in self.view.vms.values()
            if v.state == "ordered" and v.order_id and v.host and v.incarnation
        )
        beacon = ev.next_beacon(now, keep_for=2 * self.timers.fresh_s)
        return ArbiterTick(
            tuple(out), orders, tuple(accepted), beacon, self._stop_orders(), tuple(power_offs)
        )

    def _vm_reports(self, now: float, decide: _Decide) -> None:
        evacuating = {vm for vm, (_, why) in self._stops.items() if why == "evacuate"}
        since = self._ev.since if self._ev is not None else now
        stable = {
            vm
            for vm in self.view.vms
            if now - self._running_since.get(vm, since) >= STABLE_AFTER_T * self.timers.timeout_s
        }
        for name in sorted(self._reports):
            report = self._reports[name]
            while (d := report_decision(self.view, report, evacuating, stable)) is not None:
                decide(d)
                if isinstance(d, (VmStartFailed, VmLost)):
                    self.orchestra.failed(self.view.vms[d.vm], now)
                elif isinstance(d, VmEvacuated):
                    self._moved(d.vm, now, decide)
        self._reports.clear()

    def _moved(self, vm: str, now: float, decide: _Decide) -> None:
        """An evacuated VM's exit is recorded: a migrating one is ordered onto its target
        now, if that host can still take it; any other (or that one, if not) is placed by the
        orchestrator as HA would, HA on or off."""
        target = self._migrations.pop(vm, None)
        if target is not None:
            try:
                order = migration_order(self.view, self.liveset(now), vm, target)
            except OpRefused:
                pass
            else:
                decide(order)
                return
        self._moving.add(vm)

    def _stop_orders(self) -> tuple[StopOrder, ...]:
        """Stops still to carry out, sent every interval until the VM's exit is recorded."""
        for vm_name, (order, _) in list(self._stops.items()):
            vm = self.view.vms.get(vm_name)
            if vm is None or (vm.state, vm.host, vm.incarnation) != (
                "running",
                order.host,
                order.incarnation,
            ):
                del self._stops[vm_name]
                self._migrations.pop(vm_name, None)
        return tuple(order for order, _ in self._stops.values())

    # Operator actions (the shell appends the decisions they return) -------------------------

    def plan_start(self, vm: str, host: str | None, now: float) -> RestartOrdered:
        """Where a halted VM would start (decided by `adopt` once admitted); raises OpRefused."""
        return start_order(self.view, self.liveset(now), vm, host)

    def adopt(self, decisions: list[Decision]) -> None:
        """Fold decisions made for an operator's action (the shell appends them)."""
        for d in decisions:
            self.view = fold(self.view, d)

    def stop_vm(self, vm: str, why: str = "admin") -> list[Decision]:
        """Stop a VM for an admin shutdown ("admin": it stays halted) or to move it off a host
        in maintenance ("evacuate"). A VM still waiting for a host is halted at once (the
        decision returned); a running one gets a stop order (no decision yet)."""
        outcome = shutdown(self.view, vm)
        if isinstance(outcome, VmShutDownByAdmin):
            self.view = fold(self.view, outcome)
            return [outcome]
        assert outcome.host is not None and outcome.incarnation is not None
        order = StopOrder(
            action="shutdown",
            order_id=f"stop-{outcome.instance or outcome.name}",
            vm=vm,
            host=outcome.host,
            incarnation=outcome.incarnation,
        )
        self._stops[vm] = (order, why)
        return []

    def migrate_vm(self, vm: str, host: str, now: float) -> None:
        """`haplan vm migrate VM HOST`: stop VM where it runs with a stop order, exactly as
        an evacuation does; only once its exit is reported (VmEvacuated) is it ordered to
        start on `host` (`_moved`), so it never runs on two hosts. Raises OpRefused."""
        migration_source(self.view, self.liveset(now), vm, host)
        if vm in self._stops:
            raise OpRefused(f"VM {vm!r} is already being stopped", "see `haplan status`")
        self.stop_vm(vm, "evacuate")
        self._migrations[vm] = host

    def enable_host(self, host: str) -> list[Decision]:
        """Take a host out of maintenance: its current incarnation joins the liveset again."""
        rec = self.view.hosts.get(host)
        if rec is None or not rec.excluded:
            raise OpRefused(f"host {host} is not in maintenance", "nothing to do")
        if rec.incarnation is None or rec.dead:
            raise OpRefused(
                f"host {host} has no live collector to join with",
                "start its collector; it joins by itself",
            )
        decision = Joined(host, rec.incarnation)
        self.view = fold(self.view, decision)
        return [decision]

    def _members(self) -> list[str]:
        """Joined hosts whose current incarnation is not declared dead: the hosts judged."""
        return [
            name
            for name, host in sorted(self.view.hosts.items())
            if host.incarnation is not None and not host.dead
        ]

    def _suspect(
        self, ev: Evidence, host: HostRecord, inc: str, now: float, decide: _Decide
    ) -> None:
        t = self.timers
        mark = ev.marks.get(host.name)
        if mark is not None and not host.fenced:
            decide(Fenced(host.name, mark.mark))
        silent = ev.silent_for(host.name, inc, now)
        last = ev.last_renewal(host.name, inc)
        step = SUSPICION[(host.suspected, silent > t.timeout_s, last > ev.since)]
        if step == "rejoin" and self.view.hosts[host.name].fenced:
            # A fenced host rejoins nothing: a renewal that was in flight when it fenced
            # brings back none of its killed VMs; it comes back by joining anew (and the
            # log's fold and the audit know no rejoin of a fenced host either).
            step = None
        if step == "suspect":
            evidence = SuspectEvidence(
                incarnation=inc, lease_silent_for_s=silent, timeout_s=t.timeout_s
            )
            decide(Suspected(host.name, evidence))
        elif step == "rejoin":
            decide(Rejoined(host.name, inc))
        if step == "rejoin":
            self._suspect_since.pop(host.name, None)
        elif silent > t.timeout_s and (step == "suspect" or host.suspected):
            # A suspicion replayed from the log counts from when this leader finds the host
            # silent for T: a new leader weighs the hosts that went silent together too.
            self._suspect_since.setdefault(host.name, now)

    def _guard(self, now: float, decide: _Decide) -> None:
        """Engage or release the guard against mass suspicion (services.arbiter.guard)."""
        # A host in maintenance takes no VMs and its silence is no failure: not weighed.
        members = frozenset(h for h in self._members() if not self.view.hosts[h].excluded)
        suspects = frozenset(h for h in members if self.view.hosts[h].suspected)
        for gone in set(self._suspect_since) - suspects:
            del self._suspect_since[gone]
        s = Suspicions(members, suspects, dict(self._suspect_since))
        share, window = self.pool.ha.mass_suspicion_share, self.timers.timeout_s
        step = guard_step(s, self.view.guarded, now, window, share)
        if step == "engage":
            decide(GuardOn(engage_evidence(s, now, window, share)))
        elif step == "release":
            decide(GuardOff(release_evidence(s, share)))

    def _power_off_orders(
        self, ev: Evidence, now: float, fresh: list[StoreObservation]
    ) -> list[PowerOffOrder]:
        """Suspected hosts with a chain whose slot stood still for T (services.arbiter.power)."""
        if self.view.guarded or not self._chained:
            return []
        out = []
        for name in sorted(self._chained):
            host = self.view.hosts.get(name)
            if host is None or host.incarnation is None or host.dead or host.excluded:
                continue
            if not host.suspected or host.fenced:
                continue  # a fenced host's own word declares it
            inc, t = host.incarnation, self.timers.timeout_s
            own = None if self.store_watch is None else self.store_watch.reading(
                name, inc, now, self.timers.fresh_s
            )
            if not slot_still_for_t(inc, own, ev.slot_stale(name, inc, fresh), t):
                continue
            order = self._power.order(name, inc, now)
            if order is not None:
                out.append(order)
        return out

    def _declare(
        self,
        ev: Evidence,
        host: HostRecord,
        inc: str,
        now: float,
        fresh: list[StoreObservation],
        decide: _Decide,
    ) -> None:
        t = self.timers
        mark = ev.marks.get(host.name)
        silent = ev.silent_for(host.name, inc, now)
        last = ev.last_renewal(host.name, inc)
        proof = self._power.proof(host.name, inc)
        early = now - ev.since < t.t_dead_s or (mark is None and silent < t.t_dead_s)
        if proof is None and early:
            return  # cheap early exit: no rule can hold
        facts = HostEvidence(
            host=host.name,
            incarnation=inc,
            leader_for_s=now - ev.since,
            lease_silent_for_s=silent,
            mark=mark.mark if mark else None,
            lease_renewed_since_mark=mark is not None and last > mark.received_at,
            slot_stale=ev.slot_stale(host.name, inc, fresh),
            store_outage=ev.store_outage(host.name, now, t.timeout_s, fresh),
            own_store=None
            if self.store_watch is None
            else self.store_watch.reading(host.name, inc, now, t.fresh_s),
            power_off=proof,
        )
        dead = declare_dead(facts, t, self._rules)
        if dead is not None and dead.rule == "timeout" and self.view.guarded:
            return  # on silence alone: held while the guard is engaged (its own word is not)
        if dead is not None:
            decide(DeclaredDead(host.name, dead))
            ev.marks.pop(host.name, None)
            self._power.forget(host.name)

    def _vouch_and_join(self, ev: Evidence, now: float, decide: _Decide) -> list[JoinAccepted]:
        accepted = []
        for name in sorted(self._joins):
            req = self._joins[name]
            host = self.view.hosts.get(name)
            sent = ev.beacon_sent_at(req.beacon)
            if host is None or now - sent > self.timers.fresh_s:
                del self._joins[name]  # stale or foreign: the collector asks again
                continue
            if req.incarnation in host.buried:
                del self._joins[name]  # sent before it fenced: a dead incarnation stays dead
                continue
            forged = join_problem(host.key, name, req.incarnation, req.record)
            if forged is not None:
                # Only the host's credential publishes its join requests: one its own key
                # does not back is a forgery (or a broken collector); the collector asks again.
                if len(self.forgeries) < MAX_FORGERIES:
                    self.forgeries.append(Forgery(name, name, f"join request: {forged}"))
                del self._joins[name]
                continue
            if host.incarnation is None or host.dead:
                first = host.incarnation is None
                decide(Joined(name, req.incarnation, req.record))
                self._joined_at[name] = now
                if first:
                    self._claim(name, req.incarnation)
            elif host.incarnation != req.incarnation:
                if sent > self._joined_at.get(name, NEVER):
                    # A later incarnation asks: the one we know is fenced (killed at start).
                    self._mark(name, FencedMark(source="bus", incarnation=host.incarnation), now)
                continue  # joins once the known incarnation is declared dead
            accepted.append(JoinAccepted(host=name, incarnation=req.incarnation))
            del self._joins[name]
        return accepted

    def _claim(self, host: str, inc: str) -> None:
        """The VMs the pool file runs on `host` now belong to its first incarnation; the next
        heartbeat of that incarnation says whether it runs them (a host taken over mid-life)
        or not (a collector kills whatever it finds before it joins)."""
        self._heard[(host, inc)] = None
        for vm in self.view.vms.values():
            if (vm.state, vm.host, vm.incarnation, vm.instance) == ("running", host, inc, None):
                self._unclaimed[vm.name] = (host, inc)

    def _boot(self, decide: _Decide) -> None:
        """Start in place the claimed VMs their host's heartbeat does not list."""
        for name in sorted(self._unclaimed, key=lambda n: (self.view.vms[n].order, n)):
            host, inc = self._unclaimed[name]
            heard = self._heard.get((host, inc))
            if heard is None:
                continue
            del self._unclaimed[name]
            vm = self.view.vms[name]
            if name not in heard and (vm.state, vm.host, vm.incarnation) == ("running", host, inc):
                decide(RestartOrdered(name, host, inc, f"order-{self.view.orders_issued + 1}"))
        for key in [k for k in self._heard if k not in set(self._unclaimed.values())]:
            del self._heard[key]

    def liveset(self, now: float) -> tuple[str, ...]:
        """Members that may receive VMs: joined, current lease, not suspected/fenced/dead."""
        ev = self._ev
        if ev is None:
            return ()
        return tuple(
            name
            for name, h in sorted(self.view.hosts.items())
            if h.incarnation is not None
            and not (h.dead or h.suspected or h.fenced)
            and now - ev.last_renewal(name, h.incarnation) < self.timers.timeout_s
        )
