"""`verify`: replay the log and re-run the pure decision code on every decision it records.

Each decision is checked against the state folded from everything before it: liveness
decisions through the arbiter's rule on their evidence, plans through the planner on the
pool as of the sequence they were computed on, alarms against their plan and the ntol, orders
and starts against the liveset, incarnations and room. Fed one entry at a time, so a replay
of any length runs in bounded memory; plans based on states older than the history keeps are
deferred to a second pass over the log (`deferred_bases`, `resolve`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from schemas.events import (
    GuardEngaged,
    GuardReleased,
    HostDeclaredDead,
    HostFenced,
    HostJoined,
    HostRejoined,
    HostSuspected,
    LeaderElected,
    PlanComputed,
    PlanRestored,
    PoolOvercommitted,
    VMRestartOrdered,
    VMStarted,
    VMUnplaceable,
)
from services.audit.context import Context
from services.audit.entries import Logged
from services.audit.findings import Finding, Notes, VerifyReport, subject_of
from services.audit.guard_checks import check_guard_engaged, check_guard_released
from services.audit.history import StateHistory, states_at
from services.audit.join_checks import check_joined
from services.audit.liveness_checks import (
    check_declared_dead,
    check_fenced,
    check_rejoined,
    check_suspected,
)
from services.audit.order_checks import check_restart_ordered, check_started, check_unplaceable
from services.audit.plan_checks import check_alarm, check_plan_computed
from services.audit.planning import PlannerCache
from services.audit.rules import ArbiterRules, load_rules
from services.state import HANDLERS, PoolState

Check = Callable[[Context, Any, Notes], None]

# Decisions of the leader: their epochs never go back (a lower one is a deposed leader's).
ARBITER_CHECKS: dict[type, Check] = {
    HostJoined: check_joined,
    HostSuspected: check_suspected,
    HostRejoined: check_rejoined,
    HostFenced: check_fenced,
    HostDeclaredDead: check_declared_dead,
    GuardEngaged: check_guard_engaged,
    GuardReleased: check_guard_released,
    VMRestartOrdered: check_restart_ordered,
    VMUnplaceable: check_unplaceable,
}
OTHER_CHECKS: dict[type, Check] = {VMStarted: check_started}
CHECKED_TYPES = frozenset({*ARBITER_CHECKS, *OTHER_CHECKS, PlanComputed, PoolOvercommitted,
                           PlanRestored, LeaderElected})  # fmt: skip


class Verifier:
    """Feed it the log in order (`feed`), then read `report()`."""

    def __init__(
        self,
        *,
        planner: PlannerCache | None = None,
        rules: ArbiterRules | None = None,
        history: StateHistory | None = None,
    ) -> None:
        self.state = PoolState()
        self.planner = PlannerCache() if planner is None else planner
        self.rules = load_rules() if rules is None else rules
        self.history = StateHistory() if history is None else history
        self._report = VerifyReport()
        self._plans: dict[str, tuple[int, PlanComputed]] = {}
        self._deferred: list[tuple[int, PlanComputed]] = []
        self._leader_epoch = 0  # the highest epoch of an arbiter decision so far
        self._elected: tuple[int, int] | None = None  # (sequence, epoch) of the last election
        self._buried: dict[str, frozenset[str]] = {}  # host -> incarnations declared dead

    def feed(self, entry: Logged) -> None:
        seq, event = entry.seq, entry.event
        kind = type(event)
        if kind in CHECKED_TYPES:
            self._check(seq, event)
        self.state = HANDLERS[kind](self.state, event)
        if isinstance(event, HostDeclaredDead):
            # As the arbiter's view: a dead incarnation's later records back no mark.
            inc = event.evidence.incarnation
            self._buried[event.host] = self._buried.get(event.host, frozenset()) | {inc}
        self.history.record(entry, self.state)
        self._report.events += 1
        self._report.last_seq = seq

    def feed_all(self, entries: Iterable[Logged]) -> None:
        for entry in entries:
            self.feed(entry)

    def _check(self, seq: int, event: Any) -> None:
        notes = Notes()
        kind = type(event)
        checked = self._report.checked
        checked[event.type] = checked.get(event.type, 0) + 1
        if kind is PlanComputed:
            self._plans[event.event_id] = (seq, event)
            if not self._check_plan(seq, event, notes):
                return
        elif kind in (PoolOvercommitted, PlanRestored):
            check_alarm(self.state, event, self._plans, notes)
        elif kind is LeaderElected:
            self._check_election(seq, event.epoch, notes)
        else:
            check = ARBITER_CHECKS.get(kind)
            if check is not None:
                self._check_epoch(event.epoch, notes)
            else:
                check = OTHER_CHECKS[kind]
            check(self._context(seq), event, notes)
        self._note(seq, event, notes)

    def _check_plan(self, seq: int, plan: PlanComputed, notes: Notes) -> bool:
        """False when the plan is deferred to the second pass."""
        if plan.based_on_seq >= seq:
            notes.differ(f"it is based on sequence {plan.based_on_seq}, not before itself")
            return True
        # Plans are usually computed on the log as it was just before them.
        current = plan.based_on_seq >= self._report.last_seq
        base = self.state if current else self.history.state_at(plan.based_on_seq)
        if base is None:
            self._deferred.append((seq, plan))
            return False
        check_plan_computed(base, plan, self.planner, notes)
        return True

    def _check_election(self, seq: int, epoch: int, notes: Notes) -> None:
        """A new leader's lease revision is above every epoch stamped before it."""
        last = max(self._leader_epoch, self._elected[1] if self._elected else 0)
        if epoch <= last:
            notes.differ(f"epoch {epoch} does not follow the epochs already in the log ({last})")
        self._elected = (seq, epoch)
        self._leader_epoch = max(self._leader_epoch, epoch)

    def _check_epoch(self, epoch: int, notes: Notes) -> None:
        if self._elected is not None and epoch < self._elected[1]:
            seq, elected = self._elected
            notes.differ(
                f"epoch {epoch} is older than the leader elected at sequence {seq} (epoch "
                f"{elected}): a deposed leader's decision"
            )
        elif epoch < self._leader_epoch:
            notes.differ(
                f"epoch {epoch} is older than the epoch {self._leader_epoch} of an earlier "
                "decision: a deposed leader's decision"
            )
        self._leader_epoch = max(self._leader_epoch, epoch)

    def _context(self, seq: int) -> Context:
        return Context(self.state, seq, self.rules, self._buried)

    def _note(self, seq: int, event: Any, notes: Notes) -> None:
        subject = subject_of(event)
        for problem in notes.differs:
            self._report.differences.append(Finding(seq, event.type, subject, problem))
        for why in notes.unconfirmed:
            self._report.unconfirmed.append(Finding(seq, event.type, subject, why))

    # -- second pass

    def deferred_bases(self) -> set[int]:
        """Sequences whose states the deferred plans need (empty: nothing deferred)."""
        return {plan.based_on_seq for _, plan in self._deferred}

    def resolve(self, states: Mapping[int, PoolState]) -> None:
        """Check the deferred plans on `states` (from `states_at` over the same log)."""
        for seq, plan in self._deferred:
            notes = Notes()
            check_plan_computed(states[plan.based_on_seq], plan, self.planner, notes)
            self._note(seq, plan, notes)
        self._deferred.clear()

    def report(self) -> VerifyReport:
        if self._deferred:
            raise RuntimeError("plans are deferred: call resolve() with the states they need")
        report = self._report
        report.differences.sort(key=lambda f: f.seq)
        report.unconfirmed.sort(key=lambda f: f.seq)
        report.planner_runs = self.planner.planner_runs
        report.planner_cache_hits = self.planner.cache_hits
        return report


def verify(entries: Sequence[Logged], **options: Any) -> VerifyReport:
    """Verify a whole log held in memory (tests, scenario helpers): both passes at once."""
    verifier = Verifier(**options)
    verifier.feed_all(entries)
    bases = verifier.deferred_bases()
    if bases:
        verifier.resolve(states_at(entries, bases))
    return verifier.report()
