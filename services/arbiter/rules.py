"""The arbiter's rules (DESIGN.md, Liveness and fencing), as tables of named predicates.

A host is declared dead by the first rule of DEAD_RULES whose evidence holds. The decision
carries that evidence (schemas.liveness.DeadEvidence), and `rule_holds` re-checks a recorded
decision from its evidence alone: the arbiter decides with it, and `haplan audit verify` will
re-run it on the log.

Every duration was measured on one clock: leases and leadership on the arbiter's, slot
staleness and store outages on the observing collector's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from schemas.liveness import DeadEvidence, FencedMark, SlotStale, StoreOutage
from services.common.timers import Timers


@dataclass(frozen=True, slots=True)
class HostEvidence:
    """What the leader knows about one incarnation of a host at one instant."""

    host: str
    incarnation: str
    leader_for_s: float
    lease_silent_for_s: float
    mark: FencedMark | None = None
    lease_renewed_since_mark: bool = False
    slot_stale: SlotStale | None = None  # the stalest fresh reading of its slot
    store_outage: StoreOutage | None = None  # every lease holder's fresh "unreachable"

    def dead_evidence(self, rule: Literal["fenced", "timeout"], timers: Timers) -> DeadEvidence:
        return DeadEvidence(
            rule=rule,
            incarnation=self.incarnation,
            t_dead_s=timers.t_dead_s,
            leader_for_s=self.leader_for_s,
            lease_silent_for_s=self.lease_silent_for_s,
            lease_renewed_since_mark=self.lease_renewed_since_mark,
            fenced_mark=self.mark if rule == "fenced" else None,
            slot_stale=self.slot_stale if rule == "timeout" else None,
            store_outage=self.store_outage if rule == "timeout" else None,
        )


def _fenced_holds(e: DeadEvidence, t_dead: float) -> bool:
    """Fast path: the host said `fenced` (slot or bus) and its lease has not been renewed
    since."""
    mark = e.fenced_mark
    return mark is not None and mark.incarnation == e.incarnation and not e.lease_renewed_since_mark


def _timeout_holds(e: DeadEvidence, t_dead: float) -> bool:
    """The lease has been silent for T_dead, and either a fresh reading shows the slot still
    for T_dead, or every lease-holding host has had the store unreachable for T_dead."""
    if e.lease_silent_for_s < t_dead:
        return False
    slot_still = e.slot_stale is not None and e.slot_stale.stale_for_s >= t_dead
    outage = (
        e.store_outage is not None
        and len(e.store_outage.reporters) > 0
        and e.store_outage.unreachable_for_s >= t_dead
    )
    return slot_still or outage


@dataclass(frozen=True, slots=True)
class DeadRule:
    name: Literal["fenced", "timeout"]
    says: str
    holds: Callable[[DeadEvidence, float], bool]


DEAD_RULES: tuple[DeadRule, ...] = (
    DeadRule(
        "fenced",
        "the host said fenced (slot or bus) and its lease has not been renewed since",
        _fenced_holds,
    ),
    DeadRule(
        "timeout",
        "its lease is silent for T_dead, and a fresh reading shows its slot still for T_dead "
        "or every lease holder has had the store unreachable for T_dead",
        _timeout_holds,
    ),
)
_BY_NAME: Mapping[str, DeadRule] = MappingProxyType({r.name: r for r in DEAD_RULES})


def rule_holds(evidence: DeadEvidence, timers: Timers) -> bool:
    """Whether a recorded declaration follows from its evidence under these timers. Common to
    every rule: the leader had led for T_dead (a new leader declares nothing before), and the
    T_dead the decision used is not shorter than the pool's."""
    if evidence.t_dead_s < timers.t_dead_s or evidence.leader_for_s < timers.t_dead_s:
        return False
    rule = _BY_NAME.get(evidence.rule)
    return rule is not None and rule.holds(evidence, timers.t_dead_s)


def declare_dead(
    e: HostEvidence, timers: Timers, rules: tuple[DeadRule, ...] = DEAD_RULES
) -> DeadEvidence | None:
    """The evidence of the first rule that holds, or None: the host is not (yet) dead."""
    for rule in rules:
        evidence = e.dead_evidence(rule.name, timers)
        if evidence.leader_for_s >= timers.t_dead_s and rule.holds(evidence, timers.t_dead_s):
            return evidence
    return None


# Suspicion, keyed by (suspected now, lease silent for more than T, renewal seen since):
# a suspected host gets no new VMs until it rejoins or is declared dead.
SuspicionStep = Literal["suspect", "rejoin"] | None
SUSPICION: Mapping[tuple[bool, bool, bool], SuspicionStep] = MappingProxyType(
    {
        (False, True, False): "suspect",
        (False, True, True): "suspect",
        (False, False, False): None,
        (False, False, True): None,
        (True, True, False): None,
        (True, True, True): None,
        (True, False, False): None,  # not silent only because this leader just took over
        (True, False, True): "rejoin",
    }
)
