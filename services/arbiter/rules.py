"""The arbiter's rules (DESIGN.md, Liveness and fencing), as tables of named predicates.

A host is declared dead by the first rule of DEAD_RULES whose evidence holds. The decision
carries that evidence (schemas.liveness.DeadEvidence), and `rule_holds` re-checks a recorded
decision from its evidence alone: the arbiter decides with it, and `haplan audit verify` will
re-run it on the log.

Every duration was measured on one clock: leases, leadership and the leader's own reading of
the store on the arbiter's, a collector's slot staleness and store outages on that collector's.

The timeout path (TIMEOUT_PATH) depends on whether the leader reads the store itself
(`haplan arbiter --store DIR`): then a slot's stillness is the leader's own reading, never a
collector's word, since one hostile host may claim any slot still (docs/protocol.md, The leader
reads the store itself). Without a store of its own the leader falls back on the old rule: the
stalest fresh collector's reading, which one hostile host can decide.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from schemas.liveness import (
    DeadEvidence,
    FencedMark,
    OwnStoreReading,
    PowerOffProof,
    SlotStale,
    StoreOutage,
)
from services.common.timers import Timers

RuleName = Literal["fenced", "timeout", "power_off"]


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
    own_store: OwnStoreReading | None = None  # the leader's own reading; None: it has no store
    power_off: PowerOffProof | None = None  # its BMC's answer to the leader's power-off order

    def dead_evidence(self, rule: RuleName, timers: Timers) -> DeadEvidence:
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
            own_store=self.own_store if rule == "timeout" else None,
            power_off=self.power_off if rule == "power_off" else None,
        )


def _fenced_holds(e: DeadEvidence, t_dead: float) -> bool:
    """Fast path: the host said `fenced` (slot or bus) and its lease has not been renewed
    since."""
    mark = e.fenced_mark
    return mark is not None and mark.incarnation == e.incarnation and not e.lease_renewed_since_mark


def _power_off_holds(e: DeadEvidence, t_dead: float) -> bool:
    """The host's BMC confirmed it off: a status read after the leader's power-off order, for
    this incarnation, said "off". Whatever ran on the host is dead, whatever its lease says."""
    proof = e.power_off
    return proof is not None and proof.incarnation == e.incarnation and proof.power_state == "off"


@dataclass(frozen=True, slots=True)
class TimeoutFacts:
    """The inputs of the timeout path besides the lease, each "for T_dead" already weighed."""

    own_store: bool  # the leader reads the store itself (its evidence has `own_store`)
    own_still: bool  # the leader's own reading shows the slot not advanced for T_dead
    collector_still: bool  # a fresh collector's reading says the slot still for T_dead
    holders_unreachable: bool  # every lease holder reported the store unreachable for T_dead
    own_unreachable: bool  # the leader's own reads of the store failed for T_dead


@dataclass(frozen=True, slots=True)
class TimeoutBranch:
    says: str
    holds: Callable[[TimeoutFacts], bool]


# The timeout path, by whether the leader reads the store itself: once the lease is silent
# for T_dead, the host is dead if any branch holds. With its own store, no collector's word
# decides: a "still" claim counts for nothing, and "every lease holder cannot reach the store"
# (which a lone hostile lease holder can also claim) counts only when the leader's own reads
# failed as long: a genuine storage outage. Residual: a hostile lease holder's claim while the
# leader's own mount happens to be down for T_dead too (two faults; docs/protocol.md).
TIMEOUT_PATH: Mapping[bool, tuple[TimeoutBranch, ...]] = MappingProxyType(
    {
        True: (
            TimeoutBranch(
                "the leader's own reading shows its slot not advanced for T_dead",
                lambda f: f.own_still,
            ),
            TimeoutBranch(
                "every lease holder reported the store unreachable for T_dead, and the "
                "leader's own reads of it failed for T_dead",
                lambda f: f.holders_unreachable and f.own_unreachable,
            ),
        ),
        False: (  # the old rule: an arbiter started without --store
            TimeoutBranch(
                "a fresh collector's reading shows its slot still for T_dead",
                lambda f: f.collector_still,
            ),
            TimeoutBranch(
                "every lease holder reported the store unreachable for T_dead",
                lambda f: f.holders_unreachable,
            ),
        ),
    }
)


def timeout_facts(e: DeadEvidence, t_dead: float) -> TimeoutFacts:
    own = e.own_store
    outage = e.store_outage
    return TimeoutFacts(
        own_store=own is not None,
        own_still=own is not None and own.slot is not None
        and own.slot.incarnation == e.incarnation and own.slot.still_for_s >= t_dead,
        collector_still=e.slot_stale is not None and e.slot_stale.stale_for_s >= t_dead,
        holders_unreachable=outage is not None and len(outage.reporters) > 0
        and outage.unreachable_for_s >= t_dead,
        own_unreachable=own is not None and own.unreachable_for_s is not None
        and own.unreachable_for_s >= t_dead,
    )  # fmt: skip


def timeout_branch(facts: TimeoutFacts) -> TimeoutBranch | None:
    """The first branch of the timeout path that holds on `facts`, or None."""
    return next((b for b in TIMEOUT_PATH[facts.own_store] if b.holds(facts)), None)


def _timeout_holds(e: DeadEvidence, t_dead: float) -> bool:
    """The lease has been silent for T_dead, and a branch of TIMEOUT_PATH holds."""
    if e.lease_silent_for_s < t_dead:
        return False
    return timeout_branch(timeout_facts(e, t_dead)) is not None


@dataclass(frozen=True, slots=True)
class DeadRule:
    name: RuleName
    says: str
    holds: Callable[[DeadEvidence, float], bool]
    # A new leader waits T_dead before it declares on this rule (it has seen no lease yet);
    # a BMC's confirmed power-off does not rest on what the leader has seen of the host.
    after_lead: bool = True


DEAD_RULES: tuple[DeadRule, ...] = (
    DeadRule(
        "fenced",
        "the host said fenced (slot or bus) and its lease has not been renewed since",
        _fenced_holds,
    ),
    DeadRule(
        "timeout",
        "its lease is silent for T_dead, and the leader's own reading shows its slot not "
        "advanced for T_dead, or every lease holder and the leader itself have had the store "
        "unreachable for T_dead (without a store of its own: a fresh collector's reading "
        "shows its slot still, or every lease holder has had the store unreachable)",
        _timeout_holds,
    ),
    DeadRule(
        "power_off",
        "the host's BMC confirmed it off after the leader's power-off order (a status read "
        "said off)",
        _power_off_holds,
        after_lead=False,
    ),
)
_BY_NAME: Mapping[str, DeadRule] = MappingProxyType({r.name: r for r in DEAD_RULES})


def rule_holds(evidence: DeadEvidence, timers: Timers) -> bool:
    """Whether a recorded declaration follows from its evidence under these timers. Common to
    every rule: the T_dead the decision used is not shorter than the pool's, and (but for a
    BMC's power-off) the leader had led for T_dead (a new leader declares nothing before)."""
    rule = _BY_NAME.get(evidence.rule)
    if rule is None or evidence.t_dead_s < timers.t_dead_s:
        return False
    if rule.after_lead and evidence.leader_for_s < timers.t_dead_s:
        return False
    return rule.holds(evidence, timers.t_dead_s)


def declare_dead(
    e: HostEvidence, timers: Timers, rules: tuple[DeadRule, ...] = DEAD_RULES
) -> DeadEvidence | None:
    """The evidence of the first rule that holds, or None: the host is not (yet) dead."""
    led = e.leader_for_s >= timers.t_dead_s
    for rule in rules:
        if rule.after_lead and not led:
            continue
        evidence = e.dead_evidence(rule.name, timers)
        if rule.holds(evidence, timers.t_dead_s):
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
