"""The collector's decision core: one host, one incarnation, no IO and no clock.

The shell feeds it what happened (lease renewals, slot writes and reads, peers' heartbeats,
the leader's beacons and orders) with times from the host's monotonic clock, and calls
`tick(now)` every heartbeat interval. The tick derives the four facts of THE TABLE exactly as
DESIGN.md defines them, decides stay or fence, and says what to publish and until when the
watchdog may wait.

Life of an incarnation: JOINING (until the store and the bus are both reachable, no VM of an
earlier incarnation is alive on the host and the leader accepted the join) -> MEMBER (THE TABLE
every interval) -> FENCED (by THE TABLE, its watchdog, a revoked lease or a stop; the shell
kills its VMs and exits, and the next start is a new incarnation).

The fenced mark (the notice on the bus and the slot saying `fenced`) tells the arbiter that
this incarnation's VMs may run elsewhere at once, so the core hands it out only through
`vms_dead`, which the shell calls once every kill is confirmed; a kill that cannot be confirmed
leaves the host to its watchdog and the arbiter's slow path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from schemas.messages import StartOrder
from services.collector.core.intake import Intake
from services.collector.core.memory import Phase
from services.collector.core.messages import FenceMark, Tick
from services.collector.core.phases import LEASE_REVOKED, STOPPED, WATCHDOG_FIRED, Phases
from services.collector.table import FENCE_TABLE, Row, decide
from services.common.timers import Timers

__all__ = [
    "LEASE_REVOKED",
    "STOPPED",
    "WATCHDOG_FIRED",
    "Collector",
    "FenceMark",
    "Phase",
    "Tick",
]


class Collector(Intake, Phases):
    """One incarnation's decision core: its inputs (`Intake`, and those of `Phases`) record
    what happened; its tick, every interval, evaluates the phase it is in."""

    @classmethod
    def resumed(
        cls,
        host: str,
        incarnation: str,
        pool_hosts: Iterable[str],
        timers: Timers,
        now: float,
        vms: Iterable[str] = (),
        table: Mapping[tuple[bool, bool], Row] = FENCE_TABLE,
    ) -> Collector:
        """A member that has been healthy until `now` (a simulation starting mid-life)."""
        c = cls(host, incarnation, pool_hosts, timers, booted_at=now, table=table)
        c.phase, c.lease_at, c.store_at, c.vms = Phase.MEMBER, now, now, set(vms)
        return c

    def tick(self, now: float) -> Tick:
        if self.phase is Phase.JOINING:
            return self._tick_joining(now)
        if self.phase is Phase.MEMBER:
            facts = self.facts(now)
            verdict = decide(facts, self._table)
            if verdict.stay:
                row = verdict.row
                return Tick(
                    Phase.MEMBER,
                    facts,
                    fence=False,
                    reason=None,
                    pet_until=self._stay_valid_until(facts, row, now)
                    + self.timers.watchdog_margin_s,
                    heartbeat=self._heartbeat(now),
                    observation=self._observation(now),
                    starts=self._take_orders(),
                )
            self.fence(verdict.reason or "fenced")
            return self._tick_fenced(now, facts)
        return self._tick_fenced(now, None)

    def _take_orders(self) -> tuple[StartOrder, ...]:
        starts = []
        for order in self._orders:
            if order.vm not in self.vms:
                self.vms.add(order.vm)
                starts.append(order)
        self._orders.clear()
        return tuple(starts)
