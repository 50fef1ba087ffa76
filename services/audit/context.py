"""What a check sees: the replayed state just before the decision, and the arbiter's rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from services.audit.rules import ArbiterRules
from services.state import HostState, PoolState


@dataclass(slots=True)
class Context:
    state: PoolState  # the state before the decision being checked
    seq: int  # the decision's sequence
    rules: ArbiterRules  # the arbiter core's re-checks
    # By host: its incarnations declared dead before the decision (the arbiter's `buried`).
    buried: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def host_state_text(self, host: HostState) -> str:
        return "suspected" if host.liveness == "live" and host.suspected else host.liveness


def incarnation_problem(host: HostState, incarnation: str, what: str) -> str | None:
    """A decision about another incarnation than the host's current one (the arbiter ignores
    those), or None. A host no incarnation of which has joined yet cannot be checked."""
    if host.incarnation is None or host.incarnation == incarnation:
        return None
    return (
        f"{what} incarnation {incarnation}, but the host's current incarnation is "
        f"{host.incarnation}"
    )
