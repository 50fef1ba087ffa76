"""What the leading arbiter keeps between ticks, and what every part of the core reads.

The fields are the leader's working memory: the durable view (rebuilt from the log when it
gains leadership) and the evidence of this term, which starts empty. Each part of the decision
core (services.arbiter.core) is a mixin over this class: the inputs that record evidence
(`intake`), suspicion and declaration (`judgement`), joins (`joins`), VM stops and the
operator's actions (`stops`); the tick (`services.arbiter.core.Arbiter`) runs them in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from schemas.limits import DEFAULT_MAX_IN_FLIGHT
from schemas.liveness import FencedMark
from schemas.messages import JoinRequest
from schemas.pool import Pool
from schemas.reports import HostReport, StopOrder
from services.arbiter.evidence import Evidence, Mark
from services.arbiter.orchestrate import Orchestrator
from services.arbiter.power import PowerFencing
from services.arbiter.rules import DEAD_RULES, DeadRule
from services.arbiter.stillness import OwnSlot, RecordOf, StoreWatch, signed_slot
from services.arbiter.testimony import Forgery, Testimony, own_word
from services.arbiter.view import Decision, LivenessView, replay
from services.common.timers import Timers

Decide = Callable[[Decision], None]
# Forgeries kept until the shell takes them: a flood is counted, not a memory leak.
MAX_FORGERIES = 256


class LeaderMemory:
    """The leader's memory and the questions every part asks of it (leading? members?
    liveset?). Not leading, it keeps only the view and the store watch."""

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

    # Evidence and membership, read by every part ---------------------------------------------

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

    def _members(self) -> list[str]:
        """Joined hosts whose current incarnation is not declared dead: the hosts judged."""
        return [
            name
            for name, host in sorted(self.view.hosts.items())
            if host.incarnation is not None and not host.dead
        ]

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
