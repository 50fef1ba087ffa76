"""What one incarnation of the collector knows, and the proofs every part of the core reads.

Each part of the decision core (services.collector.core) is a mixin over this class: the
inputs that record what happened (`intake`), the bus-outage rule (`outage`), THE TABLE's facts
(`facts`), the messages it builds (`messages`), the phases of an incarnation (`phases`); the
tick (`services.collector.core.Collector`) runs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from schemas.liveness import SignedRecord
from schemas.messages import Beacon, NetworkHeartbeat, StartOrder
from services.collector.slots import SlotBook, SlotTrack
from services.collector.table import FENCE_TABLE, Row
from services.common.echo import beacons_behind
from services.common.timers import Timers


class Phase(StrEnum):
    JOINING = "joining"
    MEMBER = "member"
    FENCED = "fenced"


@dataclass(frozen=True, slots=True)
class Heard:
    at: float
    heartbeat: NetworkHeartbeat


class HostMemory:
    """This incarnation's state, and its own proofs of the lease and the store."""

    def __init__(
        self,
        host: str,
        incarnation: str,
        pool_hosts: Iterable[str],
        timers: Timers,
        booted_at: float,
        table: Mapping[tuple[bool, bool], Row] = FENCE_TABLE,
        *,
        device_watchdog: bool = False,
    ) -> None:
        """`device_watchdog`: the watchdog is a device every incarnation of the host shares
        (`--watchdog linux`), not a process of this incarnation's own."""
        self.host, self.incarnation, self.timers = host, incarnation, timers
        self._behind = beacons_behind(timers)  # every heartbeat heard is judged by it
        self._device_watchdog = device_watchdog
        self.others = tuple(h for h in pool_hosts if h != host)
        self.booted_at = booted_at
        self.phase = Phase.JOINING
        self.lease_at: float | None = None  # send time of the newest acknowledged renewal
        self.store_at: float | None = None  # time of the newest write that read back
        self.vms: set[str] = set()
        self._table = table
        self._heard: dict[str, Heard] = {}
        self._book = SlotBook(host)
        self._read_ok = False
        self._beacon: Beacon | None = None
        self._orders: list[StartOrder] = []
        self._slot_seq = 0
        self._hb_seq = 0
        self._fence_reason: str | None = None
        self._asked = False  # a join request went out
        self._earlier_alive = 0  # VMs of earlier incarnations still alive on this host
        self._earlier_unchecked = False  # the shell could not check for them
        self._own_record: SignedRecord | None = None  # this incarnation's slot, signed, read back
        self._outage_held_at: float | None = None  # the last evaluation the outage rule kept

    # Proofs ---------------------------------------------------------------------------------

    def _within(self, proof: float | None, now: float, limit: float) -> bool:
        return proof is not None and now - proof < limit

    def lease_ok(self, now: float) -> bool:
        return self._within(self.lease_at, now, self.timers.timeout_s)

    def store_ok(self, now: float) -> bool:
        return self._within(self.store_at, now, self.timers.timeout_s)

    def _advance(self, track: SlotTrack, now: float) -> float | None:
        """When the slot last advanced, if within T (it is advancing); None otherwise."""
        after = track.advanced_after
        return after if after is not None and now - after < self.timers.timeout_s else None
