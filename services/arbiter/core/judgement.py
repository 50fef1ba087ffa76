"""Suspicion and declaration, on docs/protocol.md's tables: each tick weighs every member's
lease (`SUSPICION`), the guard against mass suspicion, the power-off orders for suspects with
a fencing chain, and the dead rules (`DEAD_RULES`, services.arbiter.rules).
"""

from __future__ import annotations

from schemas.liveness import SuspectEvidence
from schemas.messages import StoreObservation
from services.arbiter.core.memory import Decide, LeaderMemory
from services.arbiter.evidence import Evidence
from services.arbiter.guard import Suspicions, engage_evidence, guard_step, release_evidence
from services.arbiter.power import PowerOffOrder, slot_still_for_t
from services.arbiter.rules import SUSPICION, HostEvidence, declare_dead
from services.arbiter.view import (
    DeclaredDead,
    Fenced,
    GuardOff,
    GuardOn,
    HostRecord,
    Rejoined,
    Suspected,
)


class Judgement(LeaderMemory):
    """Each member judged on this tick's evidence, first for suspicion (and the guard),
    then for declaration: the order in which Arbiter.tick calls these."""

    def _suspect(
        self, ev: Evidence, host: HostRecord, inc: str, now: float, decide: Decide
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

    def _guard(self, now: float, decide: Decide) -> None:
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
            own = (
                None
                if self.store_watch is None
                else self.store_watch.reading(name, inc, now, self.timers.fresh_s)
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
        decide: Decide,
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
