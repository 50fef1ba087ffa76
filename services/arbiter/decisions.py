"""The arbiter's decisions (what it appends to the log, services.arbiter.record) and the
configuration it folds in from the log (`Configured`): plain immutable values, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.liveness import (
    DeadEvidence,
    FencedMark,
    GuardEvidence,
    GuardReleaseEvidence,
    SignedRecord,
    SuspectEvidence,
)
from schemas.pool import VM, Host


@dataclass(frozen=True, slots=True)
class Joined:
    host: str
    incarnation: str
    # The incarnation's signed slot its join request carried (None: the host has no key, or
    # it leaves maintenance with the incarnation that joined before).
    record: SignedRecord | None = None


@dataclass(frozen=True, slots=True)
class Suspected:
    host: str
    evidence: SuspectEvidence


@dataclass(frozen=True, slots=True)
class Rejoined:
    host: str
    incarnation: str


@dataclass(frozen=True, slots=True)
class Fenced:
    host: str
    mark: FencedMark


@dataclass(frozen=True, slots=True)
class DeclaredDead:
    host: str
    evidence: DeadEvidence


@dataclass(frozen=True, slots=True)
class GuardOn:
    """The guard against mass suspicion engaged (services.arbiter.guard)."""

    evidence: GuardEvidence


@dataclass(frozen=True, slots=True)
class GuardOff:
    evidence: GuardReleaseEvidence


@dataclass(frozen=True, slots=True)
class RestartOrdered:
    vm: str
    host: str
    incarnation: str
    order_id: str
    # True for `haplan vm start`: an operator's start, not an HA restart.
    by_operator: bool = False


@dataclass(frozen=True, slots=True)
class VmRunning:
    vm: str
    host: str
    incarnation: str


@dataclass(frozen=True, slots=True)
class VmUnplaceable:
    vm: str
    reason: str


@dataclass(frozen=True, slots=True)
class VmStartFailed:
    vm: str
    host: str
    incarnation: str
    reason: str


@dataclass(frozen=True, slots=True)
class VmHaltedByGuest:
    vm: str
    host: str


@dataclass(frozen=True, slots=True)
class VmLost:
    """The VM's instance stopped on `host` without an admin shutdown (`cause`: a guest halt,
    a crash, a kill, its disk lost). `stable`: it had run long enough that its earlier
    failures no longer count against its restart and relocation limits."""

    vm: str
    host: str
    incarnation: str
    cause: str
    stable: bool


@dataclass(frozen=True, slots=True)
class VmFailed:
    """HA gave up on the VM: it used its restart and relocation limits (schemas.pool.VM
    max_restart, max_relocate). It stays down until an operator starts it."""

    vm: str
    reason: str


@dataclass(frozen=True, slots=True)
class VmShutDownByAdmin:
    vm: str


@dataclass(frozen=True, slots=True)
class VmEvacuated:
    vm: str
    host: str


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """The configuration the log holds now (services.state): hosts, VMs and HA settings. The
    arbiter does not decide it; it folds it in, in log order, when operators change it."""

    hosts: tuple[Host, ...]
    excluded: frozenset[str]
    vms: tuple[VM, ...]
    ha_enabled: bool


@dataclass(frozen=True, slots=True)
class Configured:
    config: PoolConfig


Decision = (
    Joined
    | Suspected
    | Rejoined
    | Fenced
    | DeclaredDead
    | GuardOn
    | GuardOff
    | RestartOrdered
    | VmRunning
    | VmUnplaceable
    | VmStartFailed
    | VmHaltedByGuest
    | VmLost
    | VmFailed
    | VmShutDownByAdmin
    | VmEvacuated
    | Configured
)
