"""What a collector says about its host beyond the liveness messages (schemas/messages.py).

Subjects and keys (names are subject tokens, services.common.subjects.encode_token):
- KV bucket `ha_leases`, key `host.<host>`: HostLease, renewed every interval by compare-and-set
  on the revision the collector last wrote. The arbiter revokes a lease by any compare-and-set
  write that leaves the key without this incarnation's value (a delete marker, or another
  value): the collector then never renews it again. A lease that simply expired (the bucket's
  max age) may be created again by a live incarnation.
- `ha.report.<host>`: HostReport, every interval: the collector's own view for the arbiter
  (which VM instances run, which stopped and why) and for `haplan host status` (phase and the
  reason the host is not in the liveset).
- `ha.status.<host>`: request/reply; the answer is the newest HostReport, at once.
- `ha.cmd.<host>`: StopOrder, next to StartOrder and JoinAccepted (schemas/messages.py); the
  three are told apart by their fields (`decode_command`).

As in schemas/messages.py, no message carries a clock reading.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.messages import JoinAccepted, StartOrder

Name = Annotated[str, Field(min_length=1)]

# Why a VM instance stopped. The arbiter restarts a guest halt, a crash, a kill (the OOM
# killer) and a lost disk, never an admin shutdown; `fenced`: killed by its own host fencing
# (or stopping), whose VMs come back through the host's declaration, not one by one.
# services.drivers.base.ExitCause is the driver's part of the list.
ExitCause = Literal[
    "guest-halt", "admin-shutdown", "killed", "crashed", "storage-lost", "fenced"
]
Phase = Literal["joining", "member", "fenced"]


class _Report(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HostLease(_Report):
    """The value of `host.<host>` in `ha_leases`: who holds the lease. `seq` grows with every
    renewal of this incarnation, so a collector recognises its own write after a lost ack."""

    host: Name
    incarnation: Name
    seq: Annotated[int, Field(ge=0)]


class RunningVM(_Report):
    """A VM instance this host runs; `instance` is the order id that started it."""

    vm: Name
    instance: Name


class VMExitReport(_Report):
    """A VM instance that stopped on this host, and why."""

    vm: Name
    instance: Name
    cause: ExitCause


class StartFailure(_Report):
    """A start order this host accepted but could not carry out."""

    vm: Name
    instance: Name
    reason: str


class HostReport(_Report):
    """A collector's view of its host. `reason` says why the host fences or is not (yet) in
    the liveset, e.g. "cannot join the liveset: the heartbeat store is not reachable".
    `exits` and `failed_starts` repeat each event for a while (about T), so that a lost report
    loses nothing; a reader deduplicates them by instance."""

    host: Name
    incarnation: Name
    seq: Annotated[int, Field(ge=0)]
    phase: Phase
    reason: str | None = None
    lease_ok: bool
    store_ok: bool
    vms: tuple[RunningVM, ...] = ()
    exits: tuple[VMExitReport, ...] = ()
    failed_starts: tuple[StartFailure, ...] = ()


class StopOrder(_Report):
    """Admin shutdown of `vm` on `host`: only the collector of incarnation `incarnation`
    executes it; the VM then stays halted (its exit is reported as admin-shutdown)."""

    # Required, so that a StartOrder's fields alone never read as a stop.
    action: Literal["shutdown"]
    order_id: Name
    vm: Name
    host: Name
    incarnation: Name


Command = StartOrder | JoinAccepted | StopOrder
_COMMANDS: tuple[type[StartOrder] | type[JoinAccepted] | type[StopOrder], ...] = (
    StopOrder,
    StartOrder,
    JoinAccepted,
)


class CommandDecodeError(ValueError):
    """A message on `ha.cmd.<host>` that is none of the commands."""


def decode_command(data: bytes) -> Command:
    """The command in a `ha.cmd.<host>` message. Every command forbids unknown fields and
    StopOrder requires `action`, so at most one of them accepts a given message."""
    errors = []
    for model in _COMMANDS:
        try:
            return model.model_validate_json(data)
        except ValidationError as exc:
            errors.append(exc)
    first = min(errors, key=lambda e: e.error_count()).errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"])
    raise CommandDecodeError(
        "not a StartOrder, StopOrder or JoinAccepted: "
        + (f"{where}: " if where else "")
        + str(first["msg"])
    )
