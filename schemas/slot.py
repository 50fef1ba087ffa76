"""A host's slot in the heartbeat store: the storage heartbeat path (DESIGN.md, Liveness).

Each host owns one slot file under `STORE/ha/` that only it writes. Readers never compare the
writer's clock with their own: they watch `seq` advance on their own monotonic clock. `uptime_s`
(the writer's monotonic time since this incarnation started) is for operators only.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from schemas.messages import Beacon

# Incarnations are uuid4 strings (36 characters; services.collector.shell); the room left is for
# other writers' forms. Bounded, like the reason, so that a slot stays within what a collector
# forwards (services.common.slot_bounds): a hostile host's bloated slot is unreadable, not news.
INCARNATION_MAX = 64
REASON_MAX = 512


def clip_reason(reason: str | None) -> str | None:
    """`reason` cut to what a slot holds: a long reason (an exception's text) never makes the
    writer's slot invalid."""
    if reason is None or len(reason) <= REASON_MAX:
        return reason
    return reason[: REASON_MAX - 1] + "…"


class Slot(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: Annotated[str, Field(min_length=1)]
    incarnation: Annotated[str, Field(min_length=1, max_length=INCARNATION_MAX)]
    seq: Annotated[int, Field(ge=0)]
    uptime_s: Annotated[float, Field(ge=0)]
    lease_ok: bool
    store_ok: bool
    # Age of the writer's lease proof when it wrote the slot (None: no proof yet, or a slot
    # from a version without the field). A reader ages it by the time since it first saw the
    # slot, so a frozen slot cannot claim a lease for ever (docs/protocol.md, the outage rule).
    lease_age_s: Annotated[float, Field(ge=0)] | None = None
    fenced: bool = False
    # Why the host is not (yet) in the liveset, in words for `haplan host status`.
    reason: Annotated[str, Field(max_length=REASON_MAX)] | None = None
    # The newest leader beacon the writer had received: proves, on the leader's clock, that
    # this record was written after the beacon was sent (a replay of an older record cannot
    # pass for a new incarnation).
    beacon: Beacon | None = None
