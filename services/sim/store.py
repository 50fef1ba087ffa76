"""The shared store as each simulated host's collector shell sees it (faults `store_link`,
`store_read_only`, `store_delay`).

The real shell (services.common.store_worker) writes its slot, reads it back and lists
every slot in one call on one worker thread, with a deadline of one interval. Here a call
either completes within its tick or misses the deadline:

- store_link: neither the write nor the read works;
- store_read_only: the read works, the write fails (a read-only remount): the host goes on
  seeing the other slots advance while its own freezes;
- store_delay `amount` >= one interval: the call misses its deadline, so nothing is written
  or read this tick, and the worker stays stuck in it until `amount` has passed, failing
  every call meanwhile (as the real worker refuses a call while an earlier one is blocked).
  The stuck write then lands, late: the readers first see that slot `amount` after it was
  made, so the lease age it carries is that much younger than it should be (the readers'
  aging of it starts at their first sight). A delay shorter than an interval changes nothing
  the tick can see, so it is not modelled.
"""

from __future__ import annotations

from schemas.slot import Slot
from services.sim.faults import Kind
from services.sim.hostile import sign
from services.sim.world import World


class StoreShells(World):
    def _store_delay(self, host: str) -> float | None:
        """The delay of every store call of `host` now, if it misses the shell's deadline."""
        delay = self._latent(Kind.STORE_DELAY, host)
        return delay if delay is not None and delay >= self.t.interval_s else None

    def _store_works(self, host: str) -> bool:
        """Whether `host`'s slot writes read back now (the health and outage bookkeeping)."""
        return (
            self.store_up[host]
            and host not in self.store_read_only
            and self._store_delay(host) is None
        )

    def _store_call(self, slot: Slot, signed: bool) -> tuple[bool, bool]:
        """Write `slot` (signed when a reader may need it as its host's word), then read the
        store: whether the write read back, and whether the read worked."""
        host = slot.host
        if not self.store_up[host] or self.store_busy_until.get(host, 0.0) > self.now:
            return False, False
        delay = self._store_delay(host)
        if delay is not None:
            self.store_busy_until[host] = self.now + delay
            self.at(delay, self._late_write, slot, signed)
            return False, False
        if host in self.store_read_only:
            return False, True
        self._write_slot(slot, signed)
        return True, True

    def _late_write(self, slot: Slot, signed: bool) -> None:
        """A write stuck in the store lands, whatever the collector did since: only the
        host's power going off (or the store's own faults) stops it."""
        host = slot.host
        if self.hosts[host].powered and self.store_up[host] and host not in self.store_read_only:
            self._trace(f"{host}: a write stuck in the store lands late (seq {slot.seq})")
            self.milestones.append((self.now, "late_write", host))
            self._write_slot(slot, signed)

    def _write_slot(self, slot: Slot, signed: bool) -> None:
        """The slot in the store, signed when a reader may need it as the host's word (while
        joining, and its fenced mark: services.sim.hostile)."""
        self.slots[slot.host] = slot
        if signed or slot.fenced:
            record = self.records[slot.host] = sign(slot)
            self.forger.read(slot, record)
        else:
            self.records.pop(slot.host, None)
