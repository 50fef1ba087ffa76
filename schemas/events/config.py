"""Configuration events: what the pool is made of and how HA is set up."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field

from schemas.events.base import Aggregate, EventBase, HostEvent, Name, VMEvent
from schemas.host_key import check_host_key
from schemas.liveness import BeforeSignedSlots, SignedRecord
from schemas.pool import VM, Host, Pool, Priority


class PoolCreated(EventBase):
    """The whole initial pool in one event, so that loading a pool is one atomic append and
    loading it again is a comparison (idempotence)."""

    type: Literal["pool_created"] = "pool_created"
    schema_version: Literal[1] = 1
    pool: Pool

    def summary(self) -> str:
        p = self.pool
        hosts = f"{len(p.hosts)} host" + ("" if len(p.hosts) == 1 else "s")
        vms = f"{len(p.vms)} VM" + ("" if len(p.vms) == 1 else "s")
        return f"pool {p.name!r} created: {hosts}, {vms}"


class HostAdded(EventBase):
    """A host joined the pool's configuration (it still has to join the liveset)."""

    AGGREGATE: ClassVar[Aggregate] = "host"
    type: Literal["host_added"] = "host_added"
    schema_version: Literal[1] = 1
    spec: Host

    def aggregate_name(self) -> str | None:
        return self.spec.name

    def summary(self) -> str:
        return f"host {self.spec.name} added ({self.spec.memory_mib} MiB)"


class HostKeyTrusted(HostEvent):
    """The host's slots are signed with this public key from now on (`haplan host trust`;
    docs/protocol.md, Signed slots): its collector must run with the matching private key."""

    type: Literal["host_key_trusted"] = "host_key_trusted"
    schema_version: Literal[1] = 1
    key: Annotated[str, AfterValidator(check_host_key)]

    def summary(self) -> str:
        return f"host {self.host} signs its slots with {self.key}"


class HostRemoved(HostEvent):
    """A host left the pool's configuration; VMs still recorded on it are halted."""

    type: Literal["host_removed"] = "host_removed"
    schema_version: Literal[1] = 1

    def summary(self) -> str:
        return f"host {self.host} removed"


class HostJoined(HostEvent):
    """A collector incarnation of the host reached both the store and the bus: the host is a
    liveset member and may receive VMs.

    `record` is the incarnation's own signed slot its join request carried (docs/protocol.md,
    Signed slots), for a host with a registered key: `haplan audit verify` re-checks it. None
    for a host without a key, and for the leader's re-join of the current incarnation when the
    host leaves maintenance (its join was recorded before). Events of schema version 1 had no
    record: their upcaster sets `before_signed_slots`, never written and refused outside
    upcasting (as FencedMark's)."""

    type: Literal["host_joined"] = "host_joined"
    # 2: the join's signed slot record (1: before signed slots).
    schema_version: Literal[2] = 2
    incarnation: Name
    record: SignedRecord | None = None
    before_signed_slots: BeforeSignedSlots = False

    def summary(self) -> str:
        return f"host {self.host} joined the liveset (incarnation {self.incarnation})"


class HostExcluded(HostEvent):
    """The host was taken out of the liveset on purpose (maintenance): it receives no VMs and
    its silence is not a failure. It comes back with a new HostJoined."""

    type: Literal["host_excluded"] = "host_excluded"
    schema_version: Literal[1] = 1
    reason: str = ""

    def summary(self) -> str:
        return f"host {self.host} excluded from the liveset" + (
            f": {self.reason}" if self.reason else ""
        )


class VMCreated(EventBase):
    """A VM was added to the pool (running on `vm.host`, or halted when that is null).

    Version 2 nests the VM description and adds `memory_overhead_mib`; version 1 payloads
    are upcast on read (see `schemas.events.upcasting`).
    """

    AGGREGATE: ClassVar[Aggregate] = "vm"
    type: Literal["vm_created"] = "vm_created"
    schema_version: Literal[2] = 2
    spec: VM

    def aggregate_name(self) -> str | None:
        return self.spec.name

    def summary(self) -> str:
        where = f"on {self.spec.host}" if self.spec.host else "halted"
        return f"VM {self.spec.name!r} created, {where}"


class VMProtectionSet(VMEvent):
    """The VM's HA protection changed: restart priority, restart order and start delay."""

    type: Literal["vm_protection_set"] = "vm_protection_set"
    schema_version: Literal[1] = 1
    ha_restart_priority: Priority
    order: Annotated[int, Field(strict=True, ge=0)] = 0
    start_delay_s: Annotated[float, Field(ge=0)] = 0.0

    def summary(self) -> str:
        prio = self.ha_restart_priority or "unprotected"
        return f"VM {self.vm!r} protection set: {prio}, order {self.order}"


class NtolSet(EventBase):
    """The configured number of host failures to tolerate changed."""

    type: Literal["ntol_set"] = "ntol_set"
    schema_version: Literal[1] = 1
    host_failures_to_tolerate: Annotated[int, Field(strict=True, ge=0)]

    def summary(self) -> str:
        return f"host failures to tolerate set to {self.host_failures_to_tolerate}"


class OvercommitAllowed(EventBase):
    """Whether operator actions may leave the plan below host_failures_to_tolerate changed."""

    type: Literal["overcommit_allowed"] = "overcommit_allowed"
    schema_version: Literal[1] = 1
    allowed: bool

    def summary(self) -> str:
        return "overcommit " + ("allowed" if self.allowed else "refused by admission control")


class HAEnabled(EventBase):
    """HA was switched on; settings left null keep their current value."""

    type: Literal["ha_enabled"] = "ha_enabled"
    schema_version: Literal[1] = 1
    timeout_s: Annotated[float, Field(gt=0)] | None = None
    heartbeat_store: Name | None = None

    def summary(self) -> str:
        return "HA enabled" + (f" (timeout {self.timeout_s:g} s)" if self.timeout_s else "")


class HADisabled(EventBase):
    """HA was switched off: no host is declared dead and no VM is restarted until re-enabled."""

    type: Literal["ha_disabled"] = "ha_disabled"
    schema_version: Literal[1] = 1

    def summary(self) -> str:
        return "HA disabled"


__all__ = [
    "HADisabled",
    "HAEnabled",
    "HostAdded",
    "HostExcluded",
    "HostJoined",
    "HostRemoved",
    "NtolSet",
    "OvercommitAllowed",
    "PoolCreated",
    "VMCreated",
    "VMProtectionSet",
]
