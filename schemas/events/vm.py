"""VM lifecycle: restart orders and what became of them, guest halts and admin shutdowns."""

from __future__ import annotations

from typing import Literal

from schemas.events.base import Name, VMEvent


class VMRestartOrdered(VMEvent):
    """The arbiter ordered the VM started on `host`. The order belongs to one incarnation of
    that host: only that incarnation's collector may execute it, and it is void once the host
    is declared dead. `plan` references the plan the placement comes from."""

    type: Literal["vm_restart_ordered"] = "vm_restart_ordered"
    schema_version: Literal[1] = 1
    host: Name
    incarnation: Name
    plan: Name

    def summary(self) -> str:
        return f"VM {self.vm!r} ordered to start on {self.host}"


class VMUnplaceable(VMEvent):
    """The VM should run but no liveset member can take it now; it waits for capacity."""

    type: Literal["vm_unplaceable"] = "vm_unplaceable"
    schema_version: Literal[1] = 1
    reason: str

    def summary(self) -> str:
        return f"VM {self.vm!r} cannot be placed: {self.reason}"


class VMStarted(VMEvent):
    """An instance of the VM runs on `host` (collector incarnation `incarnation`)."""

    type: Literal["vm_started"] = "vm_started"
    schema_version: Literal[1] = 1
    host: Name
    incarnation: Name
    instance: Name

    def summary(self) -> str:
        return f"VM {self.vm!r} started on {self.host}"


class VMStartFailed(VMEvent):
    """A restart order could not be executed; the VM still needs a host."""

    type: Literal["vm_start_failed"] = "vm_start_failed"
    schema_version: Literal[1] = 1
    host: Name
    incarnation: Name
    reason: str

    def summary(self) -> str:
        return f"VM {self.vm!r} failed to start on {self.host}: {self.reason}"


class VMHaltedByGuest(VMEvent):
    """The guest shut itself down on `host`."""

    type: Literal["vm_halted_by_guest"] = "vm_halted_by_guest"
    schema_version: Literal[1] = 1
    host: Name

    def summary(self) -> str:
        return f"VM {self.vm!r} halted by its guest on {self.host}"


class VMLost(VMEvent):
    """The VM's instance on `host` stopped without an admin shutdown, on a host that stays
    in service: `cause` as its collector reported it (guest-halt, crashed, killed,
    storage-lost). HA starts it again (protected and best-effort VMs, within their limits).
    `stable`: it had run long enough that its count of tries starts anew."""

    type: Literal["vm_lost"] = "vm_lost"
    schema_version: Literal[1] = 1
    host: Name
    incarnation: Name
    cause: Name
    stable: bool

    def summary(self) -> str:
        return f"VM {self.vm!r} stopped on {self.host} ({self.cause})"


class VMFailed(VMEvent):
    """HA gave up on the VM after its restart and relocation limits (pool file max_restart,
    max_relocate): it stays down until an operator starts it (`haplan vm start`)."""

    type: Literal["vm_failed"] = "vm_failed"
    schema_version: Literal[1] = 1
    reason: str

    def summary(self) -> str:
        return f"VM {self.vm!r} failed: {self.reason}"


class VMShutDownByAdmin(VMEvent):
    """An operator shut the VM down: it stays halted, HA does not restart it."""

    type: Literal["vm_shut_down_by_admin"] = "vm_shut_down_by_admin"
    schema_version: Literal[1] = 1

    def summary(self) -> str:
        return f"VM {self.vm!r} shut down by an admin"


class VMEvacuated(VMEvent):
    """The VM was stopped on `host` to move it: off a host in maintenance (`haplan host
    evacuate`), or to the host of an operator's `haplan vm migrate`; it starts elsewhere."""

    type: Literal["vm_evacuated"] = "vm_evacuated"
    schema_version: Literal[1] = 1
    host: Name

    def summary(self) -> str:
        return f"VM {self.vm!r} stopped on {self.host} to move it to another host"


__all__ = [
    "VMEvacuated",
    "VMFailed",
    "VMHaltedByGuest",
    "VMLost",
    "VMRestartOrdered",
    "VMShutDownByAdmin",
    "VMStartFailed",
    "VMStarted",
    "VMUnplaceable",
]
