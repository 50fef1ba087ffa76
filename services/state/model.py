"""The pool state the log folds into: immutable, cheap to copy, names from the domain.

States are immutable with read-only mappings: `apply` builds a new state for every event and
never mutates one, so any state can be kept (audits compare states over time). They are
NamedTuples rather than frozen dataclasses because replay builds two or three of them per
event and `_replace` on a tuple costs a third of `dataclasses.replace`.
"""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType
from typing import Literal, NamedTuple

from schemas.pool import VM, HAConfig, Host, Pool

# spec/cli.md: the host states and VM power states `haplan status` shows.
HostLiveness = Literal["live", "fenced", "dead", "joining", "excluded"]
PowerState = Literal["running", "halted", "restarting", "unplaceable", "failed"]
# "maintenance": stopped to move it off a host being evacuated (it starts elsewhere).
HaltedBy = Literal["guest", "admin", "maintenance"]


class HostState(NamedTuple):
    """A host of the pool. `liveness` is the last decision about it; `suspected` marks a live
    host whose lease went silent (it gets no new VMs until it rejoins or is declared dead)."""

    spec: Host
    liveness: HostLiveness = "joining"
    suspected: bool = False
    incarnation: str | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def in_liveset(self) -> bool:
        """May receive VMs: joined, not suspected, not fenced, dead or excluded."""
        return self.liveness == "live" and not self.suspected


class RestartOrder(NamedTuple):
    """A pending order to start a VM on one incarnation of a host."""

    host: str
    incarnation: str
    plan: str


class VMState(NamedTuple):
    """A VM: its configuration (`spec`, whose own `host` field is ignored) and where it runs.

    `host` is set only while the VM runs; `order` only while a restart order is pending.
    """

    spec: VM
    host: str | None
    power_state: PowerState
    order: RestartOrder | None = None
    halted_by: HaltedBy | None = None

    @property
    def name(self) -> str:
        return self.spec.name


class PlanSummary(NamedTuple):
    """The latest capacity plan recorded in the log."""

    event_id: str
    based_on_seq: int
    max_host_failures_to_tolerate: int
    upper_bound: int
    exact: bool
    worst_failure_set: tuple[str, ...] | None


class GuardState(NamedTuple):
    """The guard against mass suspicion, engaged (docs/protocol.md): nobody is declared dead
    on silence. `hosts`: the hosts suspected within one T when it engaged; `since`: when."""

    hosts: tuple[str, ...]
    members: int
    share: float
    since: datetime


class PoolState(NamedTuple):
    """Everything the log says about the pool. `name` is None until a pool is created.

    `origin` is the pool as first loaded (what `haplan pool create` compares against);
    `applied` counts events folded in and `ignored` those that named an unknown host or VM
    or came in an impossible order: the fold skips them rather than stop.
    """

    name: str | None = None
    ha: HAConfig = HAConfig()
    hosts: MappingProxyType[str, HostState] = MappingProxyType({})
    vms: MappingProxyType[str, VMState] = MappingProxyType({})
    plan: PlanSummary | None = None
    overcommitted: bool = False
    guard: GuardState | None = None  # None: the guard is released
    origin: Pool | None = None
    applied: int = 0
    ignored: int = 0

    @property
    def exists(self) -> bool:
        return self.name is not None

    @property
    def liveset(self) -> tuple[str, ...]:
        """Hosts that may receive VMs, in pool order."""
        return tuple(name for name, h in self.hosts.items() if h.in_liveset)

    def vms_on(self, host: str) -> tuple[VMState, ...]:
        return tuple(v for v in self.vms.values() if v.host == host)
