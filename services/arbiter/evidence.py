"""The leader's volatile knowledge: lease timings, fenced marks, store readings and beacons.

All times are the leader's own clock. None of it survives a change of leader; that is why a
new leader waits T_dead before declaring anything.

Freshness without comparing clocks: the leader sends a numbered beacon every interval and
remembers when; collectors echo the newest beacon they got in what they report. A report that
echoes a beacon sent at time b was observed after b, on the leader's clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.liveness import FencedMark, SlotStale, StoreOutage
from schemas.messages import Beacon, StoreObservation

NEVER = float("-inf")


@dataclass(slots=True)
class Mark:
    mark: FencedMark
    received_at: float


class Evidence:
    def __init__(self, ident: str, term: int, since: float) -> None:
        self.ident, self.term, self.since = ident, term, since
        self._renewed: dict[tuple[str, str], float] = {}
        self.marks: dict[str, Mark] = {}  # by host; only for the incarnation that joined last
        self._observations: dict[str, StoreObservation] = {}
        self._beacons: dict[int, float] = {}
        self._next_beacon = 0

    # Leases ---------------------------------------------------------------------------------

    def renewed(self, host: str, incarnation: str, now: float) -> None:
        self._renewed[(host, incarnation)] = now

    def last_renewal(self, host: str, incarnation: str) -> float:
        return self._renewed.get((host, incarnation), NEVER)

    def silent_for(self, host: str, incarnation: str, now: float) -> float:
        """Since the last renewal this leader saw, or since it took over if it saw none."""
        return now - max(self.last_renewal(host, incarnation), self.since)

    def lease_holders(self, now: float, within: float) -> list[tuple[str, str]]:
        return [key for key, at in self._renewed.items() if now - at < within]

    # Beacons --------------------------------------------------------------------------------

    def next_beacon(self, now: float, keep_for: float) -> Beacon:
        self._next_beacon += 1
        self._beacons[self._next_beacon] = now
        for seq in [s for s, at in self._beacons.items() if now - at > keep_for]:
            del self._beacons[seq]
        return Beacon(leader=self.ident, term=self.term, seq=self._next_beacon)

    def beacon_sent_at(self, beacon: Beacon | None) -> float:
        """When this leader sent `beacon`; NEVER for another leader's or a forgotten one."""
        if beacon is None or beacon.leader != self.ident or beacon.term != self.term:
            return NEVER
        return self._beacons.get(beacon.seq, NEVER)

    # Store readings -------------------------------------------------------------------------

    def observed(self, obs: StoreObservation) -> None:
        self._observations[obs.observer] = obs

    def fresh_observations(self, now: float, fresh_s: float) -> list[StoreObservation]:
        return [
            o for o in self._observations.values() if now - self.beacon_sent_at(o.beacon) <= fresh_s
        ]

    def slot_stale(
        self, host: str, incarnation: str, fresh: list[StoreObservation]
    ) -> SlotStale | None:
        """The stalest fresh reading of this incarnation's slot."""
        best: SlotStale | None = None
        for obs in fresh:
            for r in obs.readings:
                if (
                    r.host == host
                    and r.incarnation == incarnation
                    and (best is None or r.stale_for_s > best.stale_for_s)
                ):
                    best = SlotStale(
                        observer=obs.observer, slot_seq=r.seq, stale_for_s=r.stale_for_s
                    )
        return best

    def store_outage(
        self, host: str, now: float, within: float, fresh: list[StoreObservation]
    ) -> StoreOutage | None:
        """Every lease holder but `host` reported the store unreachable (freshly): the
        shortest outage among them. None if there is no holder or one can read the store."""
        by_observer = {o.observer: o for o in fresh}
        outage = float("inf")
        reporters = []
        for h, inc in self.lease_holders(now, within):
            if h == host:
                continue
            obs = by_observer.get(h)
            if obs is None or obs.incarnation != inc or obs.unreachable_for_s is None:
                return None
            reporters.append(h)
            outage = min(outage, obs.unreachable_for_s)
        if not reporters:
            return None
        return StoreOutage(reporters=tuple(sorted(reporters)), unreachable_for_s=outage)
