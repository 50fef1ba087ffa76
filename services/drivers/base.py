"""The driver contracts the collector shell relies on."""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

# The driver programs run as `python -m MODULE`. Parents name them by string and never import
# them: a module imported before runpy executes it prints a RuntimeWarning into the service's
# JSON log.
VM_INSTANCE_MODULE = "services.drivers.vm_instance"
WATCHDOG_MODULE = "services.drivers.watchdog_process"

# Exit statuses of a VM instance, and the stop signals it handles (blocked until it is ready).
EXIT_STOPPED = 0
EXIT_STORAGE_LOST = 3
EXIT_GUEST_HALT = 4
HANDLED_SIGNALS = frozenset({signal.SIGTERM, signal.SIGUSR1})

ExitCause = Literal["guest-halt", "admin-shutdown", "killed", "crashed", "storage-lost"]


@dataclass(frozen=True, slots=True)
class VMExit:
    """A VM instance that stopped, and why (the arbiter restarts guest halts, not admin ones)."""

    vm: str
    instance: str
    cause: ExitCause


class VMDriver(Protocol):
    def start(self, vm: str, instance: str) -> None:
        """Start an instance of `vm` on this host; `instance` identifies this run of it."""

    def shutdown(self, vm: str) -> None:
        """Admin shutdown: stop the VM cleanly; it stays halted."""

    def kill_all(self) -> None:
        """Fencing: stop every VM of this host now, without grace."""

    def running(self) -> Mapping[str, str]:
        """The VMs running on this host: vm name -> instance id."""

    def reap(self) -> list[VMExit]:
        """Instances that stopped since the last call."""
