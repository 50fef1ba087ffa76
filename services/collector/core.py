"""The collector's decision core: one host, one incarnation, no IO and no clock.

The shell feeds it what happened (lease renewals, slot writes and reads, peers' heartbeats,
the leader's beacons and orders) with times from the host's monotonic clock, and calls
`tick(now)` every heartbeat interval. The tick derives the four facts of THE TABLE exactly as
DESIGN.md defines them, decides stay or fence, and says what to publish and until when the
watchdog may wait.

Life of an incarnation: JOINING (until the store and the bus are both reachable, no VM of an
earlier incarnation is alive on the host and the leader accepted the join) -> MEMBER (THE TABLE
every interval) -> FENCED (by THE TABLE, its watchdog, a revoked lease or a stop; the shell
kills its VMs and exits, and the next start is a new incarnation).

The fenced mark (the notice on the bus and the slot saying `fenced`) tells the arbiter that
this incarnation's VMs may run elsewhere at once, so the core hands it out only through
`vms_dead`, which the shell calls once every kill is confirmed; a kill that cannot be confirmed
leaves the host to its watchdog and the arbiter's slow path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from schemas.liveness import SignedRecord
from schemas.messages import (
    Beacon,
    FencedNotice,
    JoinAccepted,
    JoinRequest,
    NetworkHeartbeat,
    StartOrder,
    StoreObservation,
)
from schemas.slot import Slot, clip_reason
from services.collector.slots import SlotBook, SlotTrack
from services.collector.table import FENCE_TABLE, Facts, Row, StaysOnlyIf, decide
from services.common.echo import beacons_behind, is_stale, newer
from services.common.timers import Timers


class Phase(StrEnum):
    JOINING = "joining"
    MEMBER = "member"
    FENCED = "fenced"


WATCHDOG_FIRED = "the watchdog fired: the collector missed its deadline"
LEASE_REVOKED = (
    "the arbiter revoked this incarnation's host lease (it was declared dead): "
    "its VMs may already run elsewhere"
)
STOPPED = "stopped (SIGTERM): the host goes down with its VMs"
# Why the outage rule does not hold (Collector._outage_blocked_by).
LEASES_BACK = "a peer advertises its lease"
OTHER = "a slot is unread, or neither advancing nor gone"


@dataclass(frozen=True, slots=True)
class Heard:
    at: float
    heartbeat: NetworkHeartbeat


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


class Collector:
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

    @classmethod
    def resumed(
        cls,
        host: str,
        incarnation: str,
        pool_hosts: Iterable[str],
        timers: Timers,
        now: float,
        vms: Iterable[str] = (),
        table: Mapping[tuple[bool, bool], Row] = FENCE_TABLE,
    ) -> Collector:
        """A member that has been healthy until `now` (a simulation starting mid-life)."""
        c = cls(host, incarnation, pool_hosts, timers, booted_at=now, table=table)
        c.phase, c.lease_at, c.store_at, c.vms = Phase.MEMBER, now, now, set(vms)
        return c

    # Inputs ---------------------------------------------------------------------------------

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

    def join_accepted(self, msg: JoinAccepted) -> None:
        if msg.incarnation == self.incarnation and self.phase is Phase.JOINING:
            self.phase = Phase.MEMBER

    def order(self, order: StartOrder) -> None:
        """Orders wait for the next stay verdict; other incarnations' orders are void."""
        if order.incarnation == self.incarnation and order.host == self.host:
            self._orders.append(order)

    def vm_stopped(self, vm: str) -> None:
        """A VM of this host stopped or failed to start: it no longer runs here."""
        self.vms.discard(vm)

    def watchdog_fired(self) -> None:
        """The watchdog killed this host's VMs: the incarnation is fenced, whatever it thinks."""
        self.vms.clear()
        self.fence(WATCHDOG_FIRED)

    def lease_revoked(self) -> None:
        """A renewal found the host lease revoked: the key holds no value of this incarnation
        any more (deleted by the arbiter, or another incarnation's), which the shell tells
        apart from a transient failure and from its own renewal whose ack was lost. The
        arbiter has declared this incarnation dead and may restart its VMs elsewhere now: it
        fences at its next tick, not T later."""
        self.fence(LEASE_REVOKED)

    def stopping(self) -> None:
        """SIGTERM: the incarnation ends with its VMs, as a fence does."""
        self.fence(STOPPED)

    def fence(self, reason: str) -> None:
        """Fence for `reason` (the shell's own, e.g. its failure); the first reason stays."""
        if self.phase is not Phase.FENCED:
            self._fence_reason = reason
            self.phase = Phase.FENCED
            self._orders.clear()

    def earlier_vms_alive(self, count: int | None) -> None:
        """How many VMs of earlier incarnations the shell still finds alive on this host;
        None when it could not check (the check hung): that counts as alive. A new
        incarnation's join (and its slot) tells the arbiter every earlier one is fenced, so
        none is asked for while any of them may live."""
        self._earlier_unchecked = count is None
        self._earlier_alive = 1 if count is None else max(0, count)

    @property
    def waits_for_earlier_vms(self) -> bool:
        """While VMs of an earlier incarnation live, this one writes no slot at all: the
        arbiter takes a later incarnation's slot as the earlier one's fenced mark."""
        return self._earlier_alive > 0

    def vms_dead(self, now: float) -> FenceMark | None:
        """The shell confirmed that every VM of this host is dead (killed, and none runs).
        A fenced incarnation gets its mark; before the confirmation there is none, nor while
        an earlier incarnation's VMs live (the mark would speak for them too)."""
        if self.phase is not Phase.FENCED or self._earlier_alive:
            return None
        self.vms.clear()
        return FenceMark(
            FencedNotice(host=self.host, incarnation=self.incarnation),
            self.slot(now, fenced=True),
        )

    # Facts ----------------------------------------------------------------------------------

    def _within(self, proof: float | None, now: float, limit: float) -> bool:
        return proof is not None and now - proof < limit

    def lease_ok(self, now: float) -> bool:
        return self._within(self.lease_at, now, self.timers.timeout_s)

    def store_ok(self, now: float) -> bool:
        return self._within(self.store_at, now, self.timers.timeout_s)

    def peers_lost_store(self, now: float) -> bool:
        """Every peer heard on the bus within T reports store_ok = false."""
        t = self.timers.timeout_s
        return all(not h.heartbeat.store_ok for h in self._heard.values() if now - h.at < t)

    def global_bus_outage(self, now: float) -> bool:
        """Every other host's slot was read within T; each either advanced within T or has
        been still for T_dead (that host has fenced or died: the arbiter's timeout path
        assumes as much, so it cannot be restarting anything); and no advancing slot still
        advertises its lease, aged by the time since this host saw it written. A host that
        died before the outage does not turn a bus blip into the fencing of every survivor."""
        return self._outage_blocked_by(now) is None

    def _outage_blocked_by(self, now: float) -> str | None:
        """Why the outage rule does not hold now: `LEASES_BACK` when the only reason is an
        advancing slot that advertises its lease, `OTHER` for any other; None when it holds."""
        t = self.timers.timeout_s
        blocked: str | None = None
        for host in self.others:
            track = self._book.current(host)
            if track is None or now - track.last_read >= t:
                return OTHER
            if self._advance(track, now) is not None:
                if track.holds_lease(now, self.timers.advertise_s):
                    blocked = LEASES_BACK
            elif now - track.first_seen < self._gone_after_s() or self._alive_since(track):
                return OTHER
        return blocked

    def _outage_or_its_end(self, now: float) -> bool:
        """The outage rule, or the end of an outage it held through: when the bus comes back,
        the peers' renewals land at their own ticks, and the first one to advertise its lease
        would end the outage for a host whose renewal lands an interval later, which would
        then fence although its slot never stopped advancing (docs/protocol.md, The end of an
        outage). So for `_outage_grace_s` after the last evaluation at which the rule held, a
        host stays if the only thing against the outage is a peer advertising its lease again;
        every slot must still be read within T and advance or be gone, so the stay rests on
        the same proofs (and watchdog bounds) as the outage rule's own."""
        blocked = self._outage_blocked_by(now)
        if blocked is None:
            self._outage_held_at = now
            return True
        held = self._outage_held_at
        return blocked == LEASES_BACK and held is not None and now - held < self._outage_grace_s()

    def _outage_grace_s(self) -> float:
        """Two intervals from the last evaluation in the outage: the next evaluation (the one
        that sees a peer's fresh lease first) and the renewal of the one after it."""
        return 2 * self.timers.interval_s

    def peer_renews_fresher(self, now: float) -> bool:
        """Some other host's advancing slot shows a lease proof fresher than this host's by
        more than an interval (its age as written, aged by the time since it was first seen):
        the bus answers that host's renewals and not this one's, as when this host's NATS
        server is cut from the lease bucket's leader. In a stall of the whole cluster every
        proof ages alike, and this says no (the shell then does not change servers)."""
        mine = float("inf") if self.lease_at is None else now - self.lease_at
        for host in self.others:
            track = self._book.current(host)
            if track is None or track.lease_age_s is None or self._advance(track, now) is None:
                continue
            if track.lease_age_s + (now - track.first_seen) + self.timers.interval_s < mine:
                return True
        return False

    def _alive_since(self, track: SlotTrack) -> bool:
        """The host was heard on the bus after its slot went still (one interval of slack for
        its last heartbeat): it lived on without the store, perhaps holding a lease, and the
        arbiter may then declare this host dead when every lease holder reports the store
        unreachable. Such a host is not gone (the simulator found the split brain)."""
        heard = self._heard.get(track.host)
        return heard is not None and heard.at > track.first_seen + self.timers.interval_s

    def _advance(self, track: SlotTrack, now: float) -> float | None:
        """When the slot last advanced, if within T (it is advancing); None otherwise."""
        after = track.advanced_after
        return after if after is not None and now - after < self.timers.timeout_s else None

    def _gone_after_s(self) -> float:
        """How long a slot must have been still before its host counts as fenced or dead for
        the outage rule: T_dead, as for the arbiter (a shorter time lets a host that merely
        lost the store, and may hold the bus, be taken for dead)."""
        return self.timers.t_dead_s

    def facts(self, now: float) -> Facts:
        lease_ok, store_ok = self.lease_ok(now), self.store_ok(now)
        # The two peer facts only matter in one row each; skip the work otherwise.
        return Facts(
            lease_ok,
            store_ok,
            peers_lost_store=lease_ok and not store_ok and self.peers_lost_store(now),
            global_bus_outage=store_ok and not lease_ok and self._outage_or_its_end(now),
        )

    def _stay_valid_until(self, facts: Facts, row: Row, now: float) -> float:
        """Until when the proofs behind this stay verdict hold without news: the collector
        would fence at its first evaluation after it, so the watchdog may wait that long plus
        the margin and no more (services.common.timers)."""
        t = self.timers.timeout_s
        fresh = [
            proof
            for proof, ok in ((self.lease_at, facts.lease_ok), (self.store_at, facts.store_ok))
            if ok and proof is not None
        ]
        if not fresh:
            # Only a broken table keeps a host without a fresh proof: its watchdog gets the
            # newest stale proof's deadline, as the design's timers would.
            known = [p for p in (self.lease_at, self.store_at) if p is not None]
            return max(known, default=self.booted_at) + t
        until = min(fresh) + t
        if row.stays_only_if is StaysOnlyIf.GLOBAL_BUS_OUTAGE and facts.global_bus_outage:
            # The outage holds until a slot is read no more, or an advancing one stops
            # advancing; a slot still for T_dead only gets stiller, so it sets no bound.
            for host in self.others:
                track = self._book.current(host)
                if track is None:
                    continue
                until = min(until, track.last_read + t)
                advance = self._advance(track, now)
                if advance is not None:
                    until = min(until, advance + t)
        return until

    # Outputs --------------------------------------------------------------------------------

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

    def tick(self, now: float) -> Tick:
        if self.phase is Phase.JOINING:
            return self._tick_joining(now)
        if self.phase is Phase.MEMBER:
            facts = self.facts(now)
            verdict = decide(facts, self._table)
            if verdict.stay:
                row = verdict.row
                return Tick(
                    Phase.MEMBER,
                    facts,
                    fence=False,
                    reason=None,
                    pet_until=self._stay_valid_until(facts, row, now)
                    + self.timers.watchdog_margin_s,
                    heartbeat=self._heartbeat(now),
                    observation=self._observation(now),
                    starts=self._take_orders(),
                )
            self.fence(verdict.reason or "fenced")
            return self._tick_fenced(now, facts)
        return self._tick_fenced(now, None)

    def _tick_joining(self, now: float) -> Tick:
        self._orders.clear()
        if self._asked:
            # The leader may have accepted the join (and ordered VMs here) in a message this
            # host has not received: from the first request on, THE TABLE applies, so that an
            # incarnation the arbiter counts as a member cannot sit unreachable for ever.
            facts = self.facts(now)
            verdict = decide(facts, self._table)
            if not verdict.stay:
                self.fence(verdict.reason or "fenced")
                return self._tick_fenced(now, facts)
        join = None
        ready = self.lease_ok(now) and self.store_ok(now) and not self._earlier_alive
        # No VM of this incarnation runs while it joins: the pets only keep the watchdog from
        # firing for nothing. A device is shared with the earlier incarnations: no pet while
        # their VMs live, as it would postpone the reset they left to kill them. A process
        # watchdog is this incarnation's own (the earlier one's still runs to its deadline):
        # left unpetted it would fire and fence this incarnation for nothing, and its
        # successor would find the same VMs.
        no_pet = self._earlier_alive and self._device_watchdog
        pet_until = None if no_pet else now + self.timers.watchdog_deadline_s
        if ready and self._beacon is not None:
            join = JoinRequest(
                host=self.host,
                incarnation=self.incarnation,
                beacon=self._beacon,
                record=self._own_record,
            )
            self._asked = True
        return Tick(
            Phase.JOINING,
            None,
            fence=False,
            reason=self.join_reason(now),
            pet_until=pet_until,
            heartbeat=self._heartbeat(now),
            observation=self._observation(now),
            join=join,
        )

    def _tick_fenced(self, now: float, facts: Facts | None) -> Tick:
        self._orders.clear()
        return Tick(
            Phase.FENCED,
            facts,
            fence=True,
            reason=self._fence_reason,
            pet_until=None,
            heartbeat=self._heartbeat(now),
            observation=self._observation(now),
        )

    def _take_orders(self) -> tuple[StartOrder, ...]:
        starts = []
        for order in self._orders:
            if order.vm not in self.vms:
                self.vms.add(order.vm)
                starts.append(order)
        self._orders.clear()
        return tuple(starts)

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
