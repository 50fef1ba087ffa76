"""The pool description: hosts, VMs and HA settings (public format, spec/pool-format.md).

Models are immutable. Field-level rules live on the fields; rules that need the whole
pool (names, placement, capacity, ntol) live in `Pool`'s validator so that each error
names the offending item in one line.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.fencing import FencingAgent
from schemas.host_key import check_host_key
from schemas.limits import (
    MEMORY_MAX_MIB,
    ORDER_MAX,
    START_DELAY_MAX_S,
    VCPUS_MAX,
    name_problem,
)

MiB = Annotated[int, Field(strict=True, gt=0)]
NonNegativeMiB = Annotated[int, Field(strict=True, ge=0)]
# Proxmox's max_restart / max_relocate: how many times in a row HA restarts a VM that keeps
# failing (it stopped without an admin shutdown, or its start failed) on the host it ran on,
# and how many times it moves it to another host, before it leaves it `failed`.
RetryLimit = Annotated[int, Field(strict=True, ge=0, le=100)]
DEFAULT_MAX_RESTART = 2
DEFAULT_MAX_RELOCATE = 2
Priority = Literal["restart", "best-effort", ""]

RESTART: Priority = "restart"
BEST_EFFORT: Priority = "best-effort"
UNPROTECTED: Priority = ""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HAConfig(_Model):
    """Pool-wide HA settings."""

    # A pool file is written for an HA pool, so HA is on unless the file says otherwise.
    enabled: bool = True
    host_failures_to_tolerate: Annotated[int, Field(strict=True)] = 0
    timeout_s: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 30.0
    heartbeat_store: str | None = None
    # XenServer's ha-allow-overcommit: operator actions that leave the plan below
    # host_failures_to_tolerate are carried out (and reported) instead of refused.
    allow_overcommit: bool = False
    # The guard against mass suspicion (docs/protocol.md): when more than this share of the
    # members becomes suspect within one T, nobody is declared dead on silence until the
    # suspects are no more than this share again. 1.0 switches the guard off.
    mass_suspicion_share: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 0.5


class Host(_Model):
    name: Annotated[str, Field(min_length=1)]
    memory_mib: MiB
    reserved_mib: NonNegativeMiB = 0
    # The public key the host signs its heartbeat-store slots with (docs/protocol.md, Signed
    # slots). A host without one is never declared fenced on another host's reading.
    key: str | None = None
    # Its BMCs, tried in this order to power it off when it is suspected (schemas.fencing,
    # docs/protocol.md, Power fencing through the BMC); empty: only self-fencing (T_dead).
    # At most 8: each agent may take its whole timeout before the next is tried, and a chain
    # longer than that only delays the T_dead path it falls back to.
    fencing: Annotated[tuple[FencingAgent, ...], Field(max_length=8)] = ()

    @field_validator("key")
    @classmethod
    def _key(cls, key: str | None) -> str | None:
        return None if key is None else check_host_key(key)


class LibvirtDomain(_Model):
    """How the libvirt VM driver finds a VM's domain (README, The libvirt VM driver)."""

    # The domain's name on each host; default: the VM's name.
    domain: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    # The domain's virtual CPUs: a start is refused when the domain has another number.
    vcpus: Annotated[int, Field(strict=True, ge=1, le=VCPUS_MAX)] | None = None
    # The domain's XML, relative to the host's store mount (beside the disks): defined on a
    # host where the domain is not yet known.
    xml: Annotated[str, Field(min_length=1, max_length=1000)] | None = None

    @field_validator("xml")
    @classmethod
    def _xml(cls, xml: str | None) -> str | None:
        if xml is not None and (xml.startswith("/") or ".." in xml.split("/") or "\0" in xml):
            raise ValueError(f"{xml!r} must be a path inside the store, without '..'")
        return xml


class VM(_Model):
    name: Annotated[str, Field(min_length=1)]
    memory_mib: MiB
    memory_overhead_mib: NonNegativeMiB = 0
    host: str | None = None
    ha_restart_priority: Priority = UNPROTECTED
    order: Annotated[int, Field(strict=True, ge=0)] = 0
    start_delay_s: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    agile: bool = True
    anti_affinity: str | None = None
    max_restart: RetryLimit = DEFAULT_MAX_RESTART
    max_relocate: RetryLimit = DEFAULT_MAX_RELOCATE
    # Only the libvirt VM driver reads it; None: the domain named as the VM, not checked
    # for vCPUs.
    libvirt: LibvirtDomain | None = None

    @property
    def footprint(self) -> int:
        """Memory the VM takes on a host: its RAM plus the hypervisor's overhead for it."""
        return self.memory_mib + self.memory_overhead_mib

    @property
    def running(self) -> bool:
        return self.host is not None

    @property
    def protected(self) -> bool:
        return self.ha_restart_priority == RESTART

    @property
    def restartable(self) -> bool:
        """HA restarts it when it stops or its host dies: restart or best-effort priority,
        and disks it can take along (spec/planner.md). The one rule: the log's fold, the
        arbiter's view and the audit all ask this."""
        return self.ha_restart_priority != UNPROTECTED and self.agile


class Pool(_Model):
    name: Annotated[str, Field(min_length=1)]
    ha: HAConfig = HAConfig()
    hosts: Annotated[tuple[Host, ...], Field(min_length=1)]
    vms: tuple[VM, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Pool:
        _check_unique("host", [h.name for h in self.hosts])
        _check_unique("VM", [v.name for v in self.vms])
        hosts = {h.name for h in self.hosts}
        for vm in self.vms:
            if vm.host is not None and vm.host not in hosts:
                raise ValueError(
                    f"VM {vm.name!r} runs on host {vm.host!r}, which is not in the pool"
                )
            if vm.ha_restart_priority == RESTART and not vm.agile:
                raise ValueError(
                    f"VM {vm.name!r} has ha_restart_priority 'restart' but agile: false; "
                    "a VM with local disks can never restart elsewhere, so it cannot be protected"
                )
        # One pass over the VMs, not one per host: 96 hosts x 10,000 VMs took a second.
        used = dict.fromkeys(hosts, 0)
        for vm in self.vms:
            if vm.host is not None:
                used[vm.host] += vm.footprint
        for host in self.hosts:
            if host.reserved_mib > host.memory_mib:
                raise ValueError(
                    f"host {host.name!r} reserves {host.reserved_mib} MiB but has only "
                    f"{host.memory_mib} MiB of memory"
                )
            free = host.memory_mib - host.reserved_mib - used[host.name]
            if free < 0:
                raise ValueError(
                    f"host {host.name!r} is over capacity: its running VMs need "
                    f"{-free} MiB more than its {host.memory_mib - host.reserved_mib} MiB available"
                )
        ntol = self.ha.host_failures_to_tolerate
        if not 0 <= ntol < len(self.hosts):
            raise ValueError(
                f"host_failures_to_tolerate is {ntol}; it must be between 0 and "
                f"{len(self.hosts) - 1} (the number of hosts minus one)"
            )
        return self

    # Derived quantities (spec/pool-format.md).
    def host(self, name: str) -> Host:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)

    def vm(self, name: str) -> VM:
        for v in self.vms:
            if v.name == name:
                return v
        raise KeyError(name)

    def vms_on(self, host: str) -> tuple[VM, ...]:
        return tuple(v for v in self.vms if v.host == host)

    def free_mib(self, host: str) -> int:
        h = self.host(host)
        return h.memory_mib - h.reserved_mib - sum(v.footprint for v in self.vms_on(host))

    @property
    def host_names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hosts)


def check_bounds(pool: Pool) -> None:
    """Names a host can store and values the restart orchestration can carry out
    (schemas/limits.py); raises ValueError naming the first item out of bounds. Checked where
    a pool comes in (a pool file, a what-if), not by the model: events embed pools, hosts and
    VMs, and an event written before these bounds must stay readable."""
    for kind, names in (("host", [h.name for h in pool.hosts]), ("VM", [v.name for v in pool.vms])):
        for name in names:
            problem = name_problem(kind, name)
            if problem is not None:
                raise ValueError(problem)
    items: list[Host | VM] = [*pool.hosts, *pool.vms]
    for item in items:
        kind = "host" if isinstance(item, Host) else "VM"
        for field in ("memory_mib", "reserved_mib", "memory_overhead_mib"):
            value = getattr(item, field, 0)
            if value > MEMORY_MAX_MIB:
                raise ValueError(
                    f"{kind} {item.name!r} has {field} {value}; the most is "
                    f"{MEMORY_MAX_MIB} (1 PiB)"
                )
    for vm in pool.vms:
        if vm.order > ORDER_MAX:
            raise ValueError(f"VM {vm.name!r} has order {vm.order}; it must be 0 to {ORDER_MAX}")
        if vm.start_delay_s > START_DELAY_MAX_S:
            raise ValueError(
                f"VM {vm.name!r} has start_delay_s {vm.start_delay_s:g}; it must be 0 to "
                f"{START_DELAY_MAX_S:g} seconds"
            )


def _check_unique(kind: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"duplicate {kind} name {name!r}")
        seen.add(name)
