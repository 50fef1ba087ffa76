"""The arbiter: leader election, liveness decisions, restart orchestration.

`Arbiter` is the pure decision core (no IO, no clock); its rules are `DEAD_RULES` and
`SUSPICION`, and `rule_holds` re-checks a recorded declaration from its evidence.
"""

from services.arbiter.core import Arbiter, ArbiterTick
from services.arbiter.operator import OpRefused
from services.arbiter.orchestrate import Orchestrator, waiting
from services.arbiter.rules import (
    DEAD_RULES,
    SUSPICION,
    DeadRule,
    HostEvidence,
    declare_dead,
    rule_holds,
)
from services.arbiter.view import (
    Decision,
    DeclaredDead,
    Fenced,
    HostRecord,
    Joined,
    LivenessView,
    Rejoined,
    RestartOrdered,
    Suspected,
    VmRecord,
    VmRunning,
    VmUnplaceable,
    fold,
    replay,
)

__all__ = [
    "DEAD_RULES",
    "SUSPICION",
    "Arbiter",
    "ArbiterTick",
    "DeadRule",
    "Decision",
    "DeclaredDead",
    "Fenced",
    "HostEvidence",
    "HostRecord",
    "Joined",
    "LivenessView",
    "OpRefused",
    "Orchestrator",
    "Rejoined",
    "RestartOrdered",
    "Suspected",
    "VmRecord",
    "VmRunning",
    "VmUnplaceable",
    "declare_dead",
    "fold",
    "replay",
    "rule_holds",
    "waiting",
]
