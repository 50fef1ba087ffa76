"""The arbiter's decision core: no IO, no clock; the shell passes the leader's monotonic time.

Only the leader decides. Its inputs: lease renewals (from the KV bucket), fenced notices,
store observations and heartbeats (from the bus), join requests, and leadership gained or
lost. Every interval `tick(now)` returns the decisions to append to the log (in order), the
orders and join acceptances to send, and the next beacon. The shell appends the decisions with
the expected-last-sequence guard before it sends anything, and when it appends a declaration
it also revokes the dead incarnation's lease (compare-and-set on its revision), so that a
renewal still in flight cannot bring that incarnation back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from schemas.liveness import FencedMark, SuspectEvidence
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
from services.arbiter.evidence import NEVER, Evidence, Mark
from services.arbiter.restart import first_fit, waiting
from services.arbiter.rules import DEAD_RULES, SUSPICION, DeadRule, HostEvidence, declare_dead
from services.arbiter.view import (
    Decision,
    DeclaredDead,
    Fenced,
    HostRecord,
    Joined,
    LivenessView,
    Rejoined,
    RestartOrdered,
    Suspected,
    VmRunning,
    VmUnplaceable,
    fold,
    replay,
)
from services.common.timers import Timers

_Decide = Callable[[Decision], None]


@dataclass(frozen=True, slots=True)
class ArbiterTick:
    decisions: tuple[Decision, ...] = ()
    orders: tuple[StartOrder, ...] = ()
    accepted: tuple[JoinAccepted, ...] = ()
    beacon: Beacon | None = None


class Arbiter:
    def __init__(
        self, ident: str, pool: Pool, timers: Timers, rules: tuple[DeadRule, ...] = DEAD_RULES
    ) -> None:
        self.ident, self.pool, self.timers, self._rules = ident, pool, timers, rules
        self.view = LivenessView.of_pool(pool)
        self._ev: Evidence | None = None
        self._joined_at: dict[str, float] = {}
        self._joins: dict[str, JoinRequest] = {}
        self._running: set[tuple[str, str, str]] = set()

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

    def lose_leadership(self) -> None:
        self._ev = None

    # Inputs (ignored unless leading) --------------------------------------------------------

    def lease_renewed(self, host: str, incarnation: str, now: float) -> None:
        if self._ev is not None:
            self._ev.renewed(host, incarnation, now)

    def fenced_notice(self, notice: FencedNotice, now: float) -> None:
        self._mark(notice.host, FencedMark(source="bus", incarnation=notice.incarnation), now)

    def heartbeat(self, hb: NetworkHeartbeat, now: float) -> None:
        if self._ev is not None:
            for vm in hb.vms:
                self._running.add((vm, hb.host, hb.incarnation))

    def join_request(self, request: JoinRequest, now: float) -> None:
        if self._ev is not None:
            self._joins[request.host] = request

    def store_observation(self, obs: StoreObservation, now: float) -> None:
        ev = self._ev
        if ev is None:
            return
        ev.observed(obs)
        for r in obs.readings:
            host = self.view.hosts.get(r.host)
            if host is None or host.incarnation is None or host.dead:
                continue
            slot_mark = FencedMark(
                source="slot", observer=obs.observer, incarnation=host.incarnation
            )
            if r.incarnation == host.incarnation:
                # Its own mark, or its slot overwritten by a later incarnation of the host.
                if r.fenced or not r.current:
                    self._mark(r.host, slot_mark, now)
            elif r.current and ev.beacon_sent_at(obs.beacon) > self._joined_at.get(r.host, NEVER):
                # Read after that incarnation joined (so after it wrote its slot): a later
                # incarnation has written since, and a starting collector kills every VM left.
                self._mark(r.host, slot_mark, now)

    def _mark(self, host: str, mark: FencedMark, now: float) -> None:
        rec = self.view.hosts.get(host)
        if self._ev is None or rec is None or rec.dead or rec.incarnation != mark.incarnation:
            return  # marks of other incarnations are ignored
        # The newest mark counts: "not renewed since" then discounts a renewal that was
        # already in flight when the host fenced, once the host says it again.
        self._ev.marks[host] = Mark(mark, now)

    # The tick -------------------------------------------------------------------------------

    def tick(self, now: float) -> ArbiterTick:
        ev = self._ev
        if ev is None:
            return ArbiterTick()
        out: list[Decision] = []

        def decide(d: Decision) -> None:
            out.append(d)
            self.view = fold(self.view, d)

        for key in sorted(self._running):
            vm = self.view.vms.get(key[0])
            if vm is not None and vm.state == "ordered" and (vm.host, vm.incarnation) == key[1:]:
                decide(VmRunning(*key))
        self._running.clear()
        accepted = self._vouch_and_join(ev, now, decide)
        fresh = ev.fresh_observations(now, self.timers.fresh_s)
        for name in sorted(self.view.hosts):
            host = self.view.hosts[name]
            if host.incarnation is not None and not host.dead:
                self._judge(ev, host, host.incarnation, now, fresh, decide)
        accepted += self._vouch_and_join(ev, now, decide)
        self._place(ev, now, decide)
        orders = tuple(
            StartOrder(order_id=v.order_id, vm=v.name, host=v.host, incarnation=v.incarnation)
            for v in self.view.vms.values()
            if v.state == "ordered" and v.order_id and v.host and v.incarnation
        )
        beacon = ev.next_beacon(now, keep_for=2 * self.timers.fresh_s)
        return ArbiterTick(tuple(out), orders, tuple(accepted), beacon)

    def _judge(
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
        if mark is not None and not host.fenced:
            decide(Fenced(host.name, mark.mark))
        silent = ev.silent_for(host.name, inc, now)
        last = ev.last_renewal(host.name, inc)
        step = SUSPICION[(host.suspected, silent > t.timeout_s, last > ev.since)]
        if step == "suspect":
            evidence = SuspectEvidence(
                incarnation=inc, lease_silent_for_s=silent, timeout_s=t.timeout_s
            )
            decide(Suspected(host.name, evidence))
        elif step == "rejoin":
            decide(Rejoined(host.name, inc))
        if now - ev.since < t.t_dead_s or (mark is None and silent < t.t_dead_s):
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
        )
        dead = declare_dead(facts, t, self._rules)
        if dead is not None:
            decide(DeclaredDead(host.name, dead))
            ev.marks.pop(host.name, None)

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
            if host.incarnation is None or host.dead:
                decide(Joined(name, req.incarnation))
                self._joined_at[name] = now
            elif host.incarnation != req.incarnation:
                if sent > self._joined_at.get(name, NEVER):
                    # A later incarnation asks: the one we know is fenced (killed at start).
                    self._mark(name, FencedMark(source="bus", incarnation=host.incarnation), now)
                continue  # joins once the known incarnation is declared dead
            accepted.append(JoinAccepted(host=name, incarnation=req.incarnation))
            del self._joins[name]
        return accepted

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

    def _place(self, ev: Evidence, now: float, decide: _Decide) -> None:
        todo = waiting(self.view)
        if not todo:
            return
        members = self.liveset(now)
        free = {h: self.view.hosts[h].capacity_mib - self.view.used_mib(h) for h in members}
        placed, unplaced = first_fit(todo, free)
        for p in placed:
            inc = self.view.hosts[p.host].incarnation
            assert inc is not None
            order_id = f"order-{self.view.orders_issued + 1}"
            decide(RestartOrdered(p.vm, p.host, inc, order_id))
        for vm in unplaced:
            if vm.state != "unplaceable":
                reason = "no liveset member has room" if members else "the liveset is empty"
                decide(VmUnplaceable(vm.name, reason))
