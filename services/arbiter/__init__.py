"""The arbiter: leader election, liveness decisions, restart orchestration.

`Arbiter` is the pure decision core (no IO, no clock); its rules are `DEAD_RULES` and
`SUSPICION`, and `rule_holds` re-checks a recorded declaration from its evidence.

The names below are loaded from their submodule on first use (PEP 562): `haplan status` reads
`services.arbiter.status` and need not build the decision core to start (issue 15).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas.lazy_names import lazy_names

if TYPE_CHECKING:
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

_VIEW = (
    "Decision", "DeclaredDead", "Fenced", "HostRecord", "Joined", "LivenessView", "Rejoined",
    "RestartOrdered", "Suspected", "VmRecord", "VmRunning", "VmUnplaceable", "fold", "replay",
)  # fmt: skip
_HOME = {
    "Arbiter": "services.arbiter.core",
    "ArbiterTick": "services.arbiter.core",
    "OpRefused": "services.arbiter.operator",
    "Orchestrator": "services.arbiter.orchestrate",
    "waiting": "services.arbiter.orchestrate",
    **dict.fromkeys(
        ("DEAD_RULES", "SUSPICION", "DeadRule", "HostEvidence", "declare_dead", "rule_holds"),
        "services.arbiter.rules",
    ),
    **dict.fromkeys(_VIEW, "services.arbiter.view"),
}


__getattr__ = lazy_names("services.arbiter", _HOME, globals())


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
