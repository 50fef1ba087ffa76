"""The leader's own reading of the heartbeat store (docs/protocol.md, The leader reads the store
itself).

Whether a host's slot stopped advancing decides its fate on the timeout path, so the leader
judges it from its own mount of the store, on its own monotonic clock, never from a collector's
claim: one hostile host could otherwise say "still" about a host that runs its VMs.

A reader never trusts a writer's clock: the leader notes when it first read each seq of each
incarnation's slot. A slot counts only as its host's own word: for a host with a registered
key, the signed record its key signed (a host can write into another's slot file, but cannot
sign for it); an older seq read again (a replay) changes nothing, so no one but the host can
make its slot look still, short of hiding every write it makes from the leader's reads.

Pure: the shell (or the simulator) reads the store and passes what it read, with the time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from schemas.liveness import OwnSlotReading, OwnStoreReading, SignedRecord
from schemas.slot import Slot
from services.common.signing import verified_slot
from services.common.slot_bounds import REMEMBERED_INCARNATIONS

# How the leader takes a slot it read as its host's word: `signed_slot`, or the simulator's
# stand-in (its store holds only what each host wrote in its own slot).
OwnSlot = Callable[[str | None, Slot, SignedRecord | None], Slot | None]
# The record its host signed of a slot read without one: only the simulator's, whose hosts sign
# a slot only when a decision records it (Ed25519 is deterministic: the same bytes as had the
# host signed it when writing), so that 10,000 runs do not pay a signature per write.
RecordOf = Callable[[Slot], SignedRecord | None]


def signed_slot(key: str | None, slot: Slot, record: SignedRecord | None) -> Slot | None:
    """The slot as its host wrote it, or None: for a host with a registered `key`, only a
    record its key signed for that host; for a host without one, the slot as read."""
    if key is None:
        return slot
    return verified_slot(key, slot.host, record)


@dataclass(slots=True)
class _Track:
    slot: Slot  # as read, at its newest seq
    since: float  # when this leader first read that seq (its clock)
    record: SignedRecord | None


class StoreWatch:
    """Each host's slot as the leader's own reads showed it, per incarnation."""

    def __init__(self, own_slot: OwnSlot = signed_slot, record_of: RecordOf | None = None) -> None:
        self._own_slot, self._record_of = own_slot, record_of
        self._tracks: dict[str, dict[str, _Track]] = {}
        self._failing_since: float | None = None  # None: the last read worked
        self._last_attempt: float | None = None

    def read(
        self,
        now: float,
        slots: Iterable[tuple[Slot, SignedRecord | None]] | None,
        keys: Mapping[str, str | None],
    ) -> None:
        """What one read of the store gave (None: it failed or missed its deadline). `keys`:
        the pool's hosts and their registered keys; slots of other names are ignored."""
        self._last_attempt = now
        if slots is None:
            if self._failing_since is None:
                self._failing_since = now
            return
        self._failing_since = None
        for slot, record in slots:
            if slot.host not in keys:
                continue
            own = self._own_slot(keys[slot.host], slot, record)
            if own is None or own.host != slot.host:
                continue  # not its host's word: says nothing about it
            tracks = self._tracks.setdefault(own.host, {})
            track = tracks.get(own.incarnation)
            if track is None:
                tracks[own.incarnation] = _Track(own, now, record)
                while len(tracks) > REMEMBERED_INCARNATIONS:
                    del tracks[next(iter(tracks))]
            elif own.seq > track.slot.seq:  # an older seq again is a replay, not an advance
                track.slot, track.since, track.record = own, now, record

    def reading(self, host: str, incarnation: str, now: float, fresh_s: float) -> OwnStoreReading:
        """What the leader's own reads say of `incarnation` of `host` now. With no read tried
        within `fresh_s` (the shell stopped reading) it says nothing: neither a still slot nor
        an outage."""
        if self._last_attempt is None or now - self._last_attempt > fresh_s:
            return OwnStoreReading()
        if self._failing_since is not None:
            return OwnStoreReading(unreachable_for_s=max(0.0, now - self._failing_since))
        track = self._tracks.get(host, {}).get(incarnation)
        if track is None:
            # Never read a slot of it signed by its host: nothing was seen stand still (as a
            # collector that never read a slot reports none), and only the outage branch or
            # the host's own fenced mark can declare it dead.
            slot = OwnSlotReading(incarnation=incarnation, still_for_s=0.0)
        else:
            if track.record is None and self._record_of is not None:
                track.record = self._record_of(track.slot)
            slot = OwnSlotReading(
                incarnation=incarnation,
                seq=track.slot.seq,
                record=track.record,
                still_for_s=max(0.0, now - track.since),
            )
        return OwnStoreReading(slot=slot)


def reading_problem(key: str | None, host: str, reading: OwnStoreReading) -> str | None:
    """Why a recorded reading of the leader's own does not rest on `host`'s signed slot, or
    None if it does (or records no slot): for a host with a registered `key`, a slot read at
    some seq carries the record its key signed, of that incarnation and seq. How long it stood
    still was measured on the leader's clock: the audit takes it as recorded, as it takes the
    lease's silence."""
    slot = reading.slot
    if slot is None or slot.seq is None:
        return None if slot is None or slot.record is None else "a record with no seq read"
    if key is None:
        return None  # a host without a key: its slot was taken as read
    if slot.record is None:
        return f"the leader's reading of {host}'s slot carries no signed record"
    signed = verified_slot(key, host, slot.record)
    if signed is None:
        return f"the leader's reading of {host}'s slot is not signed by its registered key"
    if (signed.incarnation, signed.seq) != (slot.incarnation, slot.seq):
        return "the leader's reading does not say what the signed record says"
    return None
