"""The arbiter's own re-check of a recorded liveness decision, behind one small seam.

Verify must re-run the arbiter core's rule, never a copy of it: `recheck` hands the recorded
evidence and the pool's timers to `services.arbiter.rule_holds`. Until the arbiter core
provides it, every liveness decision comes back unconfirmed (never "agreed"), and verify
says so.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import NamedTuple, cast

from schemas.liveness import DeadEvidence, SuspectEvidence
from services.common.timers import Timers

Evidence = DeadEvidence | SuspectEvidence
RuleHolds = Callable[[Evidence, Timers], bool]

ARBITER_MODULE = "services.arbiter"
RULE_NAME = "rule_holds"


class Recheck(NamedTuple):
    holds: bool | None  # None: the arbiter's rule could not be run
    why: str = ""


def load_rule() -> RuleHolds | None:
    try:
        module = importlib.import_module(ARBITER_MODULE)
    except ImportError:
        return None
    rule = getattr(module, RULE_NAME, None)
    return cast(RuleHolds, rule) if callable(rule) else None


def recheck(evidence: Evidence, timeout_s: float, rule: RuleHolds | None = None) -> Recheck:
    """Whether the arbiter's rule holds on `evidence` with the timers of `ha.timeout_s`."""
    rule = load_rule() if rule is None else rule
    if rule is None:
        return Recheck(None, f"the arbiter core has no {ARBITER_MODULE}.{RULE_NAME} to re-run")
    return Recheck(rule(evidence, Timers.from_timeout(timeout_s)))
