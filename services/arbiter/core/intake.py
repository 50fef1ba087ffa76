"""The arbiter's inputs: each records evidence for the next tick, and none decides.

All are ignored unless this arbiter leads, except `store_read` (stillness runs on its own
clock) and `configure` (the log's configuration holds whoever leads).
"""

from __future__ import annotations

from schemas.liveness import FencedMark, PowerOffProof, SignedRecord
from schemas.messages import Beacon, FencedNotice, JoinRequest, NetworkHeartbeat, StoreObservation
from schemas.reports import HostReport
from schemas.slot import Slot
from services.arbiter.core.memory import MAX_FORGERIES, LeaderMemory
from services.arbiter.evidence import NEVER
from services.arbiter.testimony import Forgery, backs_mark, claims_death
from services.arbiter.view import Configured, PoolConfig, fold


class Intake(LeaderMemory):
    """What the shell hears, recorded for the next tick (see the module docstring for the
    inputs taken when not leading)."""

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
