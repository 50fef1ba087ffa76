"""The envelope every event carries, and the conventions all events follow.

An event is an immutable fact in the log. `at` and `event_id` are given by the caller: decision
code never reads a clock or a random source, so replaying the log reproduces every decision.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

# "plan" holds the planner's results alone, so that NATS can let planners append those and
# nothing else (deploy/nats/: only arbiters append decisions).
Aggregate = Literal["pool", "plan", "host", "vm"]

# A canonical lowercase UUID: also the Nats-Msg-Id, so the bus can deduplicate retried appends.
EventId = Annotated[
    str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
]
Name = Annotated[str, Field(min_length=1)]
Epoch = Annotated[int, Field(strict=True, ge=0)]


def _utc(value: datetime) -> datetime:
    # Stored in UTC whatever offset the caller used, so two events compare by `at` directly.
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]


class EventBase(BaseModel):
    """Envelope fields, in the order they appear in every stored payload.

    `type` and `schema_version` are fixed by each event class; `epoch` is the appending
    leader's lease revision (0 for operator bootstrap appends, made before any leader exists).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    schema_version: int
    event_id: EventId
    at: UtcDatetime
    epoch: Epoch

    # Which aggregate the event belongs to: it picks the event's subject on the bus.
    AGGREGATE: ClassVar[Aggregate] = "pool"

    def aggregate_name(self) -> str | None:
        """Name of the host or VM the event is about; None for pool-wide events."""
        return None

    def summary(self) -> str:
        """One line for operators (`haplan events`, audit timelines)."""
        return self.type.replace("_", " ")


class HostEvent(EventBase):
    """An event about one host, named by `host`."""

    AGGREGATE: ClassVar[Aggregate] = "host"
    host: Name

    def aggregate_name(self) -> str | None:
        return self.host


class VMEvent(EventBase):
    """An event about one VM, named by `vm` (VM names may contain spaces: "Minion 1")."""

    AGGREGATE: ClassVar[Aggregate] = "vm"
    vm: Name

    def aggregate_name(self) -> str | None:
        return self.vm
