"""The arbiter's own re-check of a recorded liveness decision, behind one small seam.

Verify must re-run the arbiter core's rules, never a copy of them. A declaration of death is
re-checked by `rule_holds(evidence, timers)` of the arbiter core; a suspicion by its
`suspicion_holds(evidence, timers)` when it has one, else by looking the recorded evidence up
in its SUSPICION table (the only input derived here is "silent for more than T", from the
evidence and the pool's timers; whether a renewal was seen since is not recorded, so the
suspicion holds if the table says "suspect" either way). Whatever the arbiter core does not
provide comes back unconfirmed, never "agreed", and verify says so.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, cast

from schemas.liveness import DeadEvidence, SuspectEvidence
from services.common.timers import Timers

RuleHolds = Callable[[DeadEvidence, Timers], bool]
SuspicionHolds = Callable[[SuspectEvidence, Timers], bool]

ARBITER_MODULES = ("services.arbiter", "services.arbiter.rules")


class ArbiterRules(NamedTuple):
    dead: RuleHolds | None = None
    suspect: SuspicionHolds | None = None


class Recheck(NamedTuple):
    holds: bool | None  # None: the arbiter core has no rule to re-run
    why: str = ""


def _find(name: str) -> Any:
    for module_name in ARBITER_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        found = getattr(module, name, None)
        if found is not None:
            return found
    return None


def _from_table(table: Mapping[tuple[bool, bool, bool], str | None]) -> SuspicionHolds:
    def holds(evidence: SuspectEvidence, timers: Timers) -> bool:
        silent = evidence.lease_silent_for_s > timers.timeout_s
        return any(table.get((False, silent, seen)) == "suspect" for seen in (False, True))

    return holds


def load_rules() -> ArbiterRules:
    """The arbiter core's re-checks, as far as it provides them."""
    dead = _find("rule_holds")
    suspect = _find("suspicion_holds")
    if suspect is None:
        table = _find("SUSPICION")
        suspect = _from_table(table) if isinstance(table, Mapping) else None
    return ArbiterRules(
        cast(RuleHolds, dead) if callable(dead) else None,
        cast(SuspicionHolds, suspect) if callable(suspect) else None,
    )


def recheck(
    evidence: DeadEvidence | SuspectEvidence, timeout_s: float, rules: ArbiterRules
) -> Recheck:
    """Whether the arbiter's rule holds on `evidence` with the timers of `ha.timeout_s`."""
    timers = Timers.from_timeout(timeout_s)
    if isinstance(evidence, DeadEvidence):
        if rules.dead is None:
            return Recheck(None, "the arbiter core has no rule_holds to re-run")
        return Recheck(rules.dead(evidence, timers))
    if rules.suspect is None:
        return Recheck(None, "the arbiter core has no suspicion rule to re-run")
    return Recheck(rules.suspect(evidence, timers))
