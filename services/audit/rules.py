"""The arbiter's own re-check of a recorded liveness decision, behind one small seam.

Verify re-runs the arbiter core's rules, never a copy of them. A declaration of death is
re-checked by the arbiter's `rule_holds(evidence, timers)`; a suspicion by looking the
recorded evidence up in the arbiter's SUSPICION table, as the arbiter does: the one input
derived here is "lease silent for more than T", from the evidence and the pool's timers, and
since whether a renewal was seen since is not recorded, the suspicion holds if the table says
"suspect" either way. A rule the caller leaves out comes back unconfirmed, never "agreed".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from schemas.liveness import DeadEvidence, SuspectEvidence
from services.arbiter import SUSPICION, rule_holds
from services.common.timers import Timers

RuleHolds = Callable[[DeadEvidence, Timers], bool]
SuspicionHolds = Callable[[SuspectEvidence, Timers], bool]


def suspicion_holds(evidence: SuspectEvidence, timers: Timers) -> bool:
    """Whether the arbiter's SUSPICION table suspects a live, unsuspected host on this
    evidence with these timers."""
    silent = evidence.lease_silent_for_s > timers.timeout_s
    return any(SUSPICION[(False, silent, seen)] == "suspect" for seen in (False, True))


class ArbiterRules(NamedTuple):
    dead: RuleHolds | None = None
    suspect: SuspicionHolds | None = None


class Recheck(NamedTuple):
    holds: bool | None  # None: no rule to re-run
    why: str = ""


def load_rules() -> ArbiterRules:
    """The arbiter core's re-checks."""
    return ArbiterRules(rule_holds, suspicion_holds)


def recheck(
    evidence: DeadEvidence | SuspectEvidence, timeout_s: float, rules: ArbiterRules
) -> Recheck:
    """Whether the arbiter's rule holds on `evidence` with the timers of `ha.timeout_s`."""
    timers = Timers.from_timeout(timeout_s)
    if isinstance(evidence, DeadEvidence):
        if rules.dead is None:
            return Recheck(None, "no arbiter rule to re-check a declaration of death")
        return Recheck(rules.dead(evidence, timers))
    if rules.suspect is None:
        return Recheck(None, "no arbiter rule to re-check a suspicion")
    return Recheck(rules.suspect(evidence, timers))
