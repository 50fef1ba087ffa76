"""Operator requests to the arbiter leader and their replies (docs/operations.md).

Every request travels on `ha.op.<verb>` (core NATS request/reply) and only the leader answers:
no answer means no leader. Config changes go through the leader rather than straight into the
log so that one writer checks them (admission control) and records them in order.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from schemas.host_key import check_host_key
from schemas.limits import ORDER_MAX, START_DELAY_MAX_S
from schemas.pool import Priority

Name = Annotated[str, Field(min_length=1)]


class _Op(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HAEnable(_Op):
    """Turn HA on: the arbiter restarts protected VMs again (refused while overcommitted,
    unless the pool allows overcommit)."""

    verb: Literal["ha-enable"] = "ha-enable"


class HADisable(_Op):
    """Turn HA off: hosts keep heartbeating, nobody is restarted, nobody is fenced for HA."""

    verb: Literal["ha-disable"] = "ha-disable"


class PoolSet(_Op):
    """`haplan pool set ha-host-failures-to-tolerate=N` / `ha-allow-overcommit=true|false`."""

    verb: Literal["pool-set"] = "pool-set"
    host_failures_to_tolerate: Annotated[int, Field(strict=True, ge=0)] | None = None
    allow_overcommit: bool | None = None


class VMSet(_Op):
    """`haplan vm set VM ha-restart-priority=restart|best-effort|"" [order=N] [start-delay=S]`;
    fields left out keep their value."""

    verb: Literal["vm-set"] = "vm-set"
    vm: Name
    ha_restart_priority: Priority | None = None
    # Bounds: schemas/limits.py (an absurd value is a typo, refused before it is logged).
    order: Annotated[int, Field(strict=True, ge=0, le=ORDER_MAX)] | None = None
    start_delay_s: (
        Annotated[float, Field(ge=0, le=START_DELAY_MAX_S, allow_inf_nan=False)] | None
    ) = None


class VMStart(_Op):
    """Start a halted VM (on `host`, or where the planner places it)."""

    verb: Literal["vm-start"] = "vm-start"
    vm: Name
    host: Name | None = None


class VMShutdown(_Op):
    """Admin shutdown: the VM stays halted, HA does not restart it."""

    verb: Literal["vm-shutdown"] = "vm-shutdown"
    vm: Name


class VMMigrate(_Op):
    """Move a running VM to `host`: stopped where it runs, then started on `host` once the
    stop is confirmed (the evacuation's order), after admission control."""

    verb: Literal["vm-migrate"] = "vm-migrate"
    vm: Name
    host: Name


class HostEvacuate(_Op):
    """Maintenance mode: no new VMs on `host`, its VMs moved to others per the evacuation plan."""

    verb: Literal["host-evacuate"] = "host-evacuate"
    host: Name


class HostEnable(_Op):
    """Take `host` out of maintenance: it may receive VMs again."""

    verb: Literal["host-enable"] = "host-enable"
    host: Name


class HostPowerOn(_Op):
    """Power `host` on through its fencing chain (its BMCs): the operator's choice after a
    power-off, never automatic (docs/protocol.md, Power fencing through the BMC)."""

    verb: Literal["host-power-on"] = "host-power-on"
    host: Name


class HostTrust(_Op):
    """Register `key` as the public key `host` signs its slots with (docs/protocol.md)."""

    verb: Literal["host-trust"] = "host-trust"
    host: Name
    key: Annotated[str, AfterValidator(check_host_key)]


OpRequest = (
    HAEnable
    | HADisable
    | PoolSet
    | VMSet
    | VMStart
    | VMShutdown
    | VMMigrate
    | HostEvacuate
    | HostEnable
    | HostTrust
    | HostPowerOn
)
OP_VERBS: tuple[str, ...] = (
    "ha-enable",
    "ha-disable",
    "pool-set",
    "vm-set",
    "vm-start",
    "vm-shutdown",
    "vm-migrate",
    "host-evacuate",
    "host-enable",
    "host-trust",
    "host-power-on",
)

# Why a request was not carried out: the CLI maps these to exit statuses.
#   invalid  -> 2  (unknown VM or host, value out of range: the request itself is wrong)
#   refused  -> 1  (admission control: it would break the plan; the reply says why)
#   conflict -> 1  (the pool is not in a state that allows it, e.g. shutting down a halted VM)
RefusalCode = Literal["invalid", "refused", "conflict"]


class OpReply(_Op):
    """The leader's answer. `ok` false carries a one-line `error`, a `hint` (what to do next)
    and a `code`; `detail` carries the outcome (events appended, orders sent, the plan)."""

    ok: bool
    error: str | None = None
    hint: str | None = None
    code: RefusalCode | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


def op_subject(verb: str) -> str:
    return f"ha.op.{verb}"


__all__ = [
    "OP_VERBS",
    "HADisable",
    "HAEnable",
    "HostEnable",
    "HostEvacuate",
    "HostPowerOn",
    "OpReply",
    "OpRequest",
    "PoolSet",
    "RefusalCode",
    "VMMigrate",
    "VMSet",
    "VMShutdown",
    "VMStart",
    "op_subject",
]
