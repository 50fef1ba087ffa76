"""`haplan up`: the whole pool on one machine, supervised, with cables to pull.

Light on import: the runtime file, the fault kinds and the restart policy are what other
commands need (services.cli.discovery, `haplan fault`). The running side
(services.up.session and what it uses) loads NATS and is imported by `haplan up` itself.
"""

from services.common.exit_codes import EXIT_FENCED
from services.up.faults import FAULT_KINDS, FaultKind, FaultRequestError, Heal, Pull, parse_kind
from services.up.policy import Hold, Restart, after_exit
from services.up.runtime import (
    HostControls,
    RuntimeFileError,
    UpRecord,
    default_runtime_dir,
    find_live,
    is_live,
    runtime_dir,
)

__all__ = [
    "EXIT_FENCED",
    "FAULT_KINDS",
    "FaultKind",
    "FaultRequestError",
    "Heal",
    "Hold",
    "HostControls",
    "Pull",
    "Restart",
    "RuntimeFileError",
    "UpRecord",
    "after_exit",
    "default_runtime_dir",
    "find_live",
    "is_live",
    "parse_kind",
    "runtime_dir",
]
