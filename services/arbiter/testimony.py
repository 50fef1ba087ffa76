"""A host's own word in a reading another host forwarded (docs/protocol.md, Signed slots).

A store observation is the observer's word: how long it saw each slot still, which slots it
read. What it says a host's slot *holds* (a fenced mark, a later incarnation) is only taken
from the host's signed record, checked against the pool's registered key. Pure: no IO, no
clock; the arbiter core calls it, and so does `haplan audit verify` on the recorded marks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from schemas.liveness import FencedMark, SignedRecord
from schemas.messages import SlotReading
from schemas.slot import Slot
from services.common.signing import verified_slot
from services.common.slot_bounds import record_fits

TOO_LARGE = "the signed record is larger than any slot its host writes"


@dataclass(frozen=True, slots=True)
class Forgery:
    """A reading that claimed something its host's signature does not back."""

    observer: str
    host: str
    why: str


# What the arbiter takes as a host's own word in a reading: `own_word`, or a broken one the
# simulator's mutation tests plug in.
Testimony = Callable[[str | None, SlotReading], "Slot | str"]


def claims_death(reading: SlotReading, incarnation: str) -> bool:
    """Whether the reading, if true, would say incarnation `incarnation` of its host is gone:
    its own fenced mark, its slot overwritten, or a later incarnation's slot."""
    if reading.incarnation == incarnation:
        return reading.fenced or not reading.current
    return reading.current


def own_word(key: str | None, reading: SlotReading) -> Slot | str:
    """The slot the reading's host signed, or why there is none to believe. The reading's own
    fields must say what the record says: an observer that rewrites them is forging."""
    if key is None:
        return "the host has no registered key"
    if reading.record is None:
        return "no signed record"
    if not record_fits(reading.host, reading.record.body, reading.record.sig):
        # Checked before the signature: a record is kept with the host's events, and the
        # verification cache keeps what it was given.
        return TOO_LARGE
    slot = verified_slot(key, reading.host, reading.record)
    if slot is None:
        return "the signature does not verify against the host's registered key"
    said = (slot.incarnation, slot.seq, slot.fenced)
    if said != (reading.incarnation, reading.seq, reading.fenced):
        return "the reading does not say what the signed record says"
    return slot


def mark_problem(
    key: str | None, host: str, mark: FencedMark, buried: frozenset[str]
) -> str | None:
    """Why a recorded slot-sourced mark does not hold on its record, or None if it does: the
    host's own fenced slot of that incarnation, or the slot of an incarnation of the host that
    is neither the marked one nor one of `buried` (already declared dead; the log cannot
    replay when beacons were sent; the arbiter checked that the record is fresh). A mark
    recorded before signed slots is for the caller to judge (`before_signed_slots`)."""
    if mark.source != "slot":
        return None
    if key is None:
        return f"the mark was read in {host}'s slot, but {host} has no registered key"
    if mark.record is None:
        return "the mark was read in a slot but carries no signed record"
    if not record_fits(host, mark.record.body, mark.record.sig):
        return TOO_LARGE
    slot = verified_slot(key, host, mark.record)
    if slot is None:
        return f"the mark's record is not signed by {host}'s registered key"
    return unbacked(slot, mark.incarnation, buried)


def unbacked(slot: Slot, incarnation: str, buried: frozenset[str]) -> str | None:
    """Why the host's own (verified) `slot` does not back a fenced mark of `incarnation`, or
    None if it does: it is that incarnation's slot saying fenced, or the slot of another
    incarnation that is not `buried` (a later one started, and a starting collector kills
    every VM left; whether it is fresh is for the arbiter, which knows its beacons)."""
    if slot.incarnation == incarnation:
        return None if slot.fenced else "the mark's record does not say fenced"
    if slot.incarnation in buried:
        return f"the mark's record is of incarnation {slot.incarnation}, already declared dead"
    return None


def backs_mark(slot: Slot, incarnation: str, buried: frozenset[str]) -> bool:
    """Whether the host's own (verified) `slot` backs a fenced mark of `incarnation`
    (`unbacked` says why not)."""
    return unbacked(slot, incarnation, buried) is None


def join_problem(
    key: str | None, host: str, incarnation: str, record: SignedRecord | None
) -> str | None:
    """Why a join of `incarnation` is not backed by the host's own signed slot, or None if it
    is: a slot of that very incarnation, not fenced, signed by the host's registered key. A
    host with no key joins on its request alone (only its credential publishes on its join
    subject). Whether the incarnation is already dead is for the caller (it knows `buried`)."""
    if key is None:
        return None
    if record is None:
        return "the join carries no signed record of the incarnation's slot"
    if not record_fits(host, record.body, record.sig):
        return TOO_LARGE
    slot = verified_slot(key, host, record)
    if slot is None:
        return f"the join's record is not signed by {host}'s registered key"
    if slot.incarnation != incarnation:
        return f"the join's record is of incarnation {slot.incarnation}, not {incarnation}"
    if slot.fenced:
        return "the join's record says fenced"
    return None
