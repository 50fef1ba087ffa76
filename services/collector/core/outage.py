"""The global bus outage rule (docs/protocol.md, The outage rule: which hosts count; and The
end of an outage): a host that lost its lease but reaches the store stays only when every
other host's slot shows an outage no arbiter can act in. `_gone_after_s` and
`_outage_grace_s` are its two bounds (tests/sim/test_mutations.py loosens each in a subclass).
"""

from __future__ import annotations

from services.collector.core.memory import HostMemory
from services.collector.slots import SlotTrack

# Why the outage rule does not hold (Collector._outage_blocked_by).
LEASES_BACK = "a peer advertises its lease"
OTHER = "a slot is unread, or neither advancing nor gone"


class OutageRule(HostMemory):
    """The outage rule and its end, from the slots this host read and the peers it heard."""

    def global_bus_outage(self, now: float) -> bool:
        """Every other host's slot was read within T; each either advanced within T or has
        been still for T_dead (that host has fenced or died: the arbiter's timeout path
        assumes as much, so it cannot be restarting anything); and no advancing slot still
        advertises its lease, aged by the time since this host saw it written. A host that
        died before the outage does not turn a bus blip into the fencing of every survivor."""
        return self._outage_blocked_by(now) is None

    def _outage_blocked_by(self, now: float) -> str | None:
        """Why the outage rule does not hold now: `LEASES_BACK` when the only reason is an
        advancing slot that advertises its lease, `OTHER` for any other; None when it holds."""
        t = self.timers.timeout_s
        blocked: str | None = None
        for host in self.others:
            track = self._book.current(host)
            if track is None or now - track.last_read >= t:
                return OTHER
            if self._advance(track, now) is not None:
                if track.holds_lease(now, self.timers.advertise_s):
                    blocked = LEASES_BACK
            elif now - track.first_seen < self._gone_after_s() or self._alive_since(track):
                return OTHER
        return blocked

    def _outage_or_its_end(self, now: float) -> bool:
        """The outage rule, or the end of an outage it held through: when the bus comes back,
        the peers' renewals land at their own ticks, and the first one to advertise its lease
        would end the outage for a host whose renewal lands an interval later, which would
        then fence although its slot never stopped advancing (docs/protocol.md, The end of an
        outage). So for `_outage_grace_s` after the last evaluation at which the rule held, a
        host stays if the only thing against the outage is a peer advertising its lease again;
        every slot must still be read within T and advance or be gone, so the stay rests on
        the same proofs (and watchdog bounds) as the outage rule's own."""
        blocked = self._outage_blocked_by(now)
        if blocked is None:
            self._outage_held_at = now
            return True
        held = self._outage_held_at
        return blocked == LEASES_BACK and held is not None and now - held < self._outage_grace_s()

    def _outage_grace_s(self) -> float:
        """Two intervals from the last evaluation in the outage: the next evaluation (the one
        that sees a peer's fresh lease first) and the renewal of the one after it."""
        return 2 * self.timers.interval_s

    def peer_renews_fresher(self, now: float) -> bool:
        """Some other host's advancing slot shows a lease proof fresher than this host's by
        more than an interval (its age as written, aged by the time since it was first seen):
        the bus answers that host's renewals and not this one's, as when this host's NATS
        server is cut from the lease bucket's leader. In a stall of the whole cluster every
        proof ages alike, and this says no (the shell then does not change servers)."""
        mine = float("inf") if self.lease_at is None else now - self.lease_at
        for host in self.others:
            track = self._book.current(host)
            if track is None or track.lease_age_s is None or self._advance(track, now) is None:
                continue
            if track.lease_age_s + (now - track.first_seen) + self.timers.interval_s < mine:
                return True
        return False

    def _alive_since(self, track: SlotTrack) -> bool:
        """The host was heard on the bus after its slot went still (one interval of slack for
        its last heartbeat): it lived on without the store, perhaps holding a lease, and the
        arbiter may then declare this host dead when every lease holder reports the store
        unreachable. Such a host is not gone (the simulator found the split brain)."""
        heard = self._heard.get(track.host)
        return heard is not None and heard.at > track.first_seen + self.timers.interval_s

    def _gone_after_s(self) -> float:
        """How long a slot must have been still before its host counts as fenced or dead for
        the outage rule: T_dead, as for the arbiter (a shorter time lets a host that merely
        lost the store, and may hold the bus, be taken for dead)."""
        return self.timers.t_dead_s
