"""THE TABLE's four facts (DESIGN.md, services.collector.table) as this host finds them, and
until when a stay verdict's proofs hold (the watchdog's deadline).
"""

from __future__ import annotations

from services.collector.core.outage import OutageRule
from services.collector.table import Facts, Row, StaysOnlyIf


class TableFacts(OutageRule):
    """The facts THE TABLE decides on, and the watchdog deadline of a stay."""

    def peers_lost_store(self, now: float) -> bool:
        """Every peer heard on the bus within T reports store_ok = false."""
        t = self.timers.timeout_s
        return all(not h.heartbeat.store_ok for h in self._heard.values() if now - h.at < t)

    def facts(self, now: float) -> Facts:
        lease_ok, store_ok = self.lease_ok(now), self.store_ok(now)
        # The two peer facts only matter in one row each; skip the work otherwise.
        return Facts(
            lease_ok,
            store_ok,
            peers_lost_store=lease_ok and not store_ok and self.peers_lost_store(now),
            global_bus_outage=store_ok and not lease_ok and self._outage_or_its_end(now),
        )

    def _stay_valid_until(self, facts: Facts, row: Row, now: float) -> float:
        """Until when the proofs behind this stay verdict hold without news: the collector
        would fence at its first evaluation after it, so the watchdog may wait that long plus
        the margin and no more (services.common.timers)."""
        t = self.timers.timeout_s
        fresh = [
            proof
            for proof, ok in ((self.lease_at, facts.lease_ok), (self.store_at, facts.store_ok))
            if ok and proof is not None
        ]
        if not fresh:
            # Only a broken table keeps a host without a fresh proof: its watchdog gets the
            # newest stale proof's deadline, as the design's timers would.
            known = [p for p in (self.lease_at, self.store_at) if p is not None]
            return max(known, default=self.booted_at) + t
        until = min(fresh) + t
        if row.stays_only_if is StaysOnlyIf.GLOBAL_BUS_OUTAGE and facts.global_bus_outage:
            # The outage holds until a slot is read no more, or an advancing one stops
            # advancing; a slot still for T_dead only gets stiller, so it sets no bound.
            for host in self.others:
                track = self._book.current(host)
                if track is None:
                    continue
                until = min(until, track.last_read + t)
                advance = self._advance(track, now)
                if advance is not None:
                    until = min(until, advance + t)
        return until
