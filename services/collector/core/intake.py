"""What the shell tells the core happened: lease renewals, slot writes and reads, peers'
heartbeats, the leader's beacons and orders, VMs stopped. Each only records, for the next tick.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from schemas.liveness import SignedRecord
from schemas.messages import Beacon, NetworkHeartbeat, StartOrder
from schemas.slot import Slot
from services.collector.core.memory import Heard, HostMemory
from services.common.echo import is_stale, newer


class Intake(HostMemory):
    """The inputs that record evidence or work for the next tick."""

    def lease_renewed(self, sent_at: float) -> None:
        """A renewal sent at `sent_at` was acknowledged. The proof dates from the send: the
        renewal may have been applied any time after it."""
        if self.lease_at is None or sent_at > self.lease_at:
            self.lease_at = sent_at

    def slot_written(self, attempted_at: float, ok: bool) -> None:
        """The slot write started at `attempted_at` did (or did not) read back intact."""
        if ok and (self.store_at is None or attempted_at > self.store_at):
            self.store_at = attempted_at

    def slots_read(
        self,
        now: float,
        slots: Iterable[Slot] | None,
        records: Mapping[str, SignedRecord] | None = None,
    ) -> None:
        """The store's slots as read now; None when the store could not be read. `records`:
        the signed slot files by host, forwarded as read (docs/protocol.md, Signed slots)."""
        self._read_ok = slots is not None
        if slots is not None:
            slots = list(slots)
            self._book.read(now, slots, records)
            own = (records or {}).get(self.host)
            mine = [s for s in slots if s.host == self.host]
            if own is not None and mine and mine[0].incarnation == self.incarnation:
                self._own_record = own  # what the join request carries as this host's word

    def heard(self, now: float, heartbeat: NetworkHeartbeat) -> None:
        """Take a peer's heartbeat, unless its echoed beacon shows it is stale: a heartbeat
        delivered late must not pass for the peer's current word (services.common.echo)."""
        stale = is_stale(heartbeat.beacon, self._beacon, self._behind)
        if heartbeat.host != self.host and not stale:
            self._heard[heartbeat.host] = Heard(now, heartbeat)

    def beacon(self, beacon: Beacon) -> None:
        self._beacon = newer(self._beacon, beacon)

    def order(self, order: StartOrder) -> None:
        """Orders wait for the next stay verdict; other incarnations' orders are void."""
        if order.incarnation == self.incarnation and order.host == self.host:
            self._orders.append(order)

    def vm_stopped(self, vm: str) -> None:
        """A VM of this host stopped or failed to start: it no longer runs here."""
        self.vms.discard(vm)
