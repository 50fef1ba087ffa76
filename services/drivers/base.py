"""The driver contracts the collector shell relies on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

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
