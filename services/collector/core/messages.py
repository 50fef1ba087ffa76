"""What the collector core hands the shell: the slot, the heartbeat and the store observation
of each interval, the fenced mark, and the Tick that carries them.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.messages import (
    FencedNotice,
    JoinRequest,
    NetworkHeartbeat,
    StartOrder,
    StoreObservation,
)
from schemas.slot import Slot, clip_reason
from services.collector.core.memory import HostMemory, Phase
from services.collector.table import Facts


@dataclass(frozen=True, slots=True)
class Tick:
    """What one evaluation decided. The shell acts in this order: kill VMs (if `fence`, then
    confirm they are dead and only then ask `vms_dead` for the fenced mark), pet the watchdog
    (`pet_until`, on this host's clock; None leaves it unarmed or as it is), start `starts`,
    publish the rest."""

    phase: Phase
    facts: Facts | None  # None while joining
    fence: bool
    reason: str | None  # why the host fences or is not (yet) in the liveset
    pet_until: float | None
    heartbeat: NetworkHeartbeat
    observation: StoreObservation
    join: JoinRequest | None = None
    starts: tuple[StartOrder, ...] = ()


@dataclass(frozen=True, slots=True)
class FenceMark:
    """This incarnation's fenced mark, for the bus and for its slot: written only once every
    VM of the host is confirmed dead (`Collector.vms_dead`)."""

    notice: FencedNotice
    slot: Slot


class Messages(HostMemory):
    """The messages of this interval, each numbered in its own sequence."""

    def slot(self, now: float, fenced: bool = False) -> Slot:
        """This interval's slot (the shell writes it, then reports `slot_written`)."""
        self._slot_seq += 1
        return Slot(
            host=self.host,
            incarnation=self.incarnation,
            seq=self._slot_seq,
            uptime_s=max(0.0, now - self.booted_at),
            lease_ok=self._within(self.lease_at, now, self.timers.advertise_s),
            store_ok=self._within(self.store_at, now, self.timers.advertise_s),
            lease_age_s=None if self.lease_at is None else max(0.0, now - self.lease_at),
            fenced=fenced,
            reason=clip_reason(self.join_reason(now)) if self.phase is Phase.JOINING else None,
            beacon=self._beacon,
        )

    def join_reason(self, now: float) -> str:
        if self._earlier_unchecked:
            return (
                "cannot join the liveset: cannot check for VMs of an earlier incarnation on "
                "this host (the check hangs; trying again)"
            )
        if self._earlier_alive:
            return (
                f"cannot join the liveset: {self._earlier_alive} VM(s) of an earlier "
                "incarnation still alive on this host (killing them again)"
            )
        lease, store = self.lease_ok(now), self.store_ok(now)
        if not lease and not store:
            return "cannot join the liveset: neither the heartbeat store nor the bus is reachable"
        if not store:
            return "cannot join the liveset: the heartbeat store is not reachable"
        if not lease:
            return "cannot join the liveset: the bus is not reachable (the host lease lapsed)"
        if self._beacon is None:
            return "waiting for the arbiter to join the liveset"
        return "waiting for the arbiter to accept the join"

    def _heartbeat(self, now: float) -> NetworkHeartbeat:
        self._hb_seq += 1
        return NetworkHeartbeat(
            host=self.host,
            incarnation=self.incarnation,
            seq=self._hb_seq,
            lease_ok=self._within(self.lease_at, now, self.timers.advertise_s),
            store_ok=self._within(self.store_at, now, self.timers.advertise_s),
            vms=tuple(sorted(self.vms)),
            beacon=self._beacon,
        )

    def _observation(self, now: float) -> StoreObservation:
        if not self._read_ok:
            since = self.store_at if self.store_at is not None else self.booted_at
            return StoreObservation(
                observer=self.host,
                incarnation=self.incarnation,
                beacon=self._beacon,
                unreachable_for_s=max(0.0, now - since),
            )
        return StoreObservation(
            observer=self.host,
            incarnation=self.incarnation,
            beacon=self._beacon,
            readings=self._book.readings(now, forget_after_s=3 * self.timers.t_dead_s),
        )
