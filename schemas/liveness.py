"""Evidence behind the arbiter's liveness decisions.

Every liveness decision in the event log carries the inputs of the rule that made it, so that
`haplan audit verify` can re-run the pure arbiter rule on exactly that evidence. Durations are
measured on one observer's own monotonic clock (the arbiter's for leases, a collector's for
slots); no value compares two hosts' clocks.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo
from pydantic.json_schema import SkipJsonSchema

Seconds = Annotated[float, Field(ge=0)]

# The key of the validation context under which the codec validates an upcast event.
UPCAST_CONTEXT = "upcast"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SignedRecord(_Frozen):
    """A host's slot as it wrote it in the heartbeat store: `body` is the slot's exact JSON
    text, `sig` the base64 Ed25519 signature of it by the host's key (docs/protocol.md, Signed
    slots). Whoever forwards it cannot change a byte of it without the signature failing."""

    body: str
    sig: str


def _only_when_upcast(value: bool, info: ValidationInfo) -> bool:
    if value and not (info.context or {}).get(UPCAST_CONTEXT):
        raise ValueError("before_signed_slots is only set by upcasting a version 1 event")
    return value


# The flag an upcaster of a version 1 event sets on evidence recorded before signed slots:
# never written (exclude; not in the published JSON Schema) and refused outside upcasting.
BeforeSignedSlots = Annotated[
    SkipJsonSchema[bool], AfterValidator(_only_when_upcast), Field(exclude=True)
]


class FencedMark(_Frozen):
    """A host said it fenced itself, in its heartbeat-store slot or on the bus. A mark read in
    a slot carries the host's signed record it rests on (`record`): its own fenced slot, or the
    slot of a later incarnation of it. Marks recorded before signed slots (events of schema
    version 1) have none: their upcaster says so in `before_signed_slots`."""

    source: Literal["slot", "bus"]
    observer: str | None = None  # the collector that read the slot; None for the bus
    incarnation: str
    record: SignedRecord | None = None
    # Set only by the upcasters of version 1 events (schemas.events.upcasting): the audit can
    # then only say it cannot check such a mark, not that it differs. Never written (exclude;
    # not in the published JSON Schema) and refused outside upcasting (the codec's validation
    # context): otherwise a new event could pass an unsigned mark off as an old one.
    before_signed_slots: BeforeSignedSlots = False


class SlotStale(_Frozen):
    """A collector read the host's slot and saw it not advance for `stale_for_s`."""

    observer: str
    slot_seq: int
    stale_for_s: Seconds


class StoreOutage(_Frozen):
    """Every lease-holding host reported the heartbeat store unreachable for `unreachable_for_s`."""

    reporters: tuple[str, ...]
    unreachable_for_s: Seconds


class OwnSlotReading(_Frozen):
    """The leader's own reading of the host's slot in the heartbeat store (docs/protocol.md,
    The leader reads the store itself): the newest `seq` of incarnation `incarnation` it read
    (None: it never read a slot of that incarnation), the host's signed `record` of it (None
    for a host without a registered key, or never read), and how long that seq has stood, on
    the leader's own monotonic clock, while its reads worked (`still_for_s`)."""

    incarnation: str
    seq: Annotated[int, Field(ge=0)] | None = None
    record: SignedRecord | None = None
    still_for_s: Seconds


class OwnStoreReading(_Frozen):
    """What the leader's own mount of the heartbeat store showed when it decided: the host's
    slot (`slot`, None while its reads fail) and how long its own reads had failed
    (`unreachable_for_s`, None while they work)."""

    slot: OwnSlotReading | None = None
    unreachable_for_s: Seconds | None = None


class PowerOffProof(_Frozen):
    """What a host's BMC answered when the arbiter leader powered the host off (docs/protocol.md,
    Power fencing through the BMC): the agent (`agent`: its kind and address, never its
    credential; `level`: its place in the host's chain, from 1), the incarnation the order was
    given for, what the power-off call answered (`answer`), the power state a status read
    returned after it (`power_state`: "off" is the proof; "on", "unknown" or a failure is not),
    and how long after the order the status read answered, on the leader's monotonic clock."""

    agent: Annotated[str, Field(min_length=1)]
    level: Annotated[int, Field(ge=1)]
    incarnation: str
    answer: str
    power_state: str
    answered_after_s: Seconds


class DeadEvidence(_Frozen):
    """Why a host was declared dead (DESIGN.md, arbiter rules).

    rule "fenced": the host marked itself fenced (incarnation `incarnation`) and its lease has not
    been renewed since the mark. rule "timeout": the lease was silent for `lease_silent_for_s`
    >= `t_dead_s` and, when the leader reads the store itself (`own_store` set), its own
    reading shows the slot not advanced for t_dead_s, or every lease holder reported the store
    unreachable for t_dead_s and so was the leader's own; without `own_store` (an arbiter
    started without --store, or a declaration recorded before version 3), a fresh collector's
    reading shows the slot stale for t_dead_s, or every lease holder reported the store
    unreachable for t_dead_s (services.arbiter.rules, TIMEOUT_PATH). rule "power_off" (event
    schema version 4 on): the host's BMC confirmed incarnation `incarnation`'s host off
    (`power_off`: a status read after the order said "off").
    """

    rule: Literal["fenced", "timeout", "power_off"]
    incarnation: str
    t_dead_s: Seconds
    leader_for_s: Seconds
    lease_silent_for_s: Seconds
    lease_renewed_since_mark: bool = False
    fenced_mark: FencedMark | None = None
    slot_stale: SlotStale | None = None
    store_outage: StoreOutage | None = None
    # The leader's own reading of the store (event schema version 3 on); None: the leader had
    # no store of its own, and the timeout rule took a collector's reading (the old rule).
    own_store: OwnStoreReading | None = None
    # The BMC's confirmation of a power-off (event schema version 4 on; rule "power_off").
    power_off: PowerOffProof | None = None


class SuspectEvidence(_Frozen):
    """Why a host is suspected: its lease has been silent for more than T but not yet T_dead."""

    incarnation: str
    lease_silent_for_s: Seconds
    timeout_s: Seconds


Share = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]


class RecentSuspicion(_Frozen):
    """A host the leader suspected `suspected_for_s` ago (on its own clock)."""

    host: str
    suspected_for_s: Seconds


class GuardEvidence(_Frozen):
    """Why the guard against mass suspicion engaged (docs/protocol.md, Guard rail against mass
    suspicion): more than `share` of the `members` (joined hosts not declared dead, counting
    the suspects) became suspect within one T (`timeout_s`): the hosts of `recent`."""

    recent: tuple[RecentSuspicion, ...]
    members: Annotated[int, Field(ge=0)]
    share: Share
    timeout_s: Seconds


class GuardReleaseEvidence(_Frozen):
    """Why the guard released: the hosts still suspected and not declared dead (`suspects`)
    are no longer more than `share` of the `members`."""

    suspects: tuple[str, ...]
    members: Annotated[int, Field(ge=0)]
    share: Share
