"""Messages of the liveness protocol on the bus (core NATS, ephemeral; DESIGN.md, Liveness).

These are the inputs and outputs of the pure collector and arbiter cores, and what their NATS
shells put on the wire as JSON. No message carries a clock reading: durations are measured by
the sender on its own monotonic clock (`stale_for_s`, `unreachable_for_s`), and freshness is
proved by echoing the arbiter's beacon, whose send time only the arbiter knows.

Subjects (the shells use these; names are subject tokens, services.common.subjects):
- `ha.hb.<host>`: NetworkHeartbeat, every interval
- `ha.sto.<observer>`: StoreObservation, every interval
- `ha.fenced.<host>`: FencedNotice, once, after the host killed its VMs
- `ha.join.<host>`: JoinRequest, every interval until accepted
- `ha.cmd.<host>`: StartOrder and JoinAccepted, from the leader
- `ha.arb.beacon`: Beacon, every interval, from the leader
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from schemas.liveness import SignedRecord

Name = Annotated[str, Field(min_length=1)]
Seconds = Annotated[float, Field(ge=0)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Beacon(_Message):
    """The leader's tick. Collectors echo the newest one they received, which proves that what
    they report was observed after the leader sent it (the leader knows when that was)."""

    leader: Name
    term: Annotated[int, Field(ge=0)]
    seq: Annotated[int, Field(ge=0)]


class NetworkHeartbeat(_Message):
    """A collector's heartbeat on the bus. `lease_ok` and `store_ok` are advertised (proof
    younger than T - 3 intervals, services.common.timers), `vms` are the VMs it runs.
    `beacon` echoes the newest leader beacon the sender had: its age, which only the leader
    can measure, is the heartbeat's (a heartbeat delivered late is dropped, docs/protocol.md)."""

    host: Name
    incarnation: Name
    seq: Annotated[int, Field(ge=0)]
    lease_ok: bool
    store_ok: bool
    vms: tuple[str, ...] = ()
    beacon: Beacon | None = None


class SlotReading(_Message):
    """One host's slot as an observer read it: `stale_for_s` is how long, on the observer's
    clock, this (incarnation, seq) has been the slot's content. `current` is False for an
    earlier incarnation of the host that the observer remembers (its slot was overwritten by a
    later incarnation, so it has not advanced since). `record` is the slot as the host wrote and
    signed it: the only part of the reading the arbiter acts on as the host's own word (a fenced
    mark, a new incarnation); the rest is the observer's."""

    host: Name
    incarnation: Name
    seq: Annotated[int, Field(ge=0)]
    stale_for_s: Seconds
    lease_ok: bool
    fenced: bool
    current: bool = True
    record: SignedRecord | None = None


class StoreObservation(_Message):
    """What a collector read in the heartbeat store this interval; `readings` is empty and
    `unreachable_for_s` set when the store could not be read (how long since its last
    successful write and read-back, or since the collector started)."""

    observer: Name
    incarnation: Name
    beacon: Beacon | None = None
    readings: tuple[SlotReading, ...] = ()
    unreachable_for_s: Seconds | None = None


class FencedNotice(_Message):
    """Incarnation `incarnation` of `host` fenced itself: its VMs are dead."""

    host: Name
    incarnation: Name


class JoinRequest(_Message):
    """A collector incarnation reaches the store and the bus and asks to join the liveset. A
    starting collector kills every VM left on its host, so a request also says that every
    earlier incarnation of the host is fenced."""

    host: Name
    incarnation: Name
    beacon: Beacon | None = None
    # The incarnation's own slot as it wrote and signed it (docs/protocol.md, Signed slots):
    # for a host with a registered key the leader takes the join only on it, and records it.
    record: SignedRecord | None = None


class JoinAccepted(_Message):
    """The leader recorded the join of this incarnation."""

    host: Name
    incarnation: Name


class StartOrder(_Message):
    """Start `vm` on `host`; only the collector of incarnation `incarnation` may execute it."""

    order_id: Name
    vm: Name
    host: Name
    incarnation: Name
