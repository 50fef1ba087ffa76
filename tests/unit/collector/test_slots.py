"""What a collector remembers of the other hosts' slots (services.collector.slots)."""

from __future__ import annotations

from schemas.liveness import SignedRecord
from services.collector.slots import REMEMBERED_INCARNATIONS, SlotBook
from services.common.slot_bounds import record_limit
from tests.unit.collector.helpers import slot


def _by_inc(book: SlotBook, now: float, forget: float = 1e9) -> dict[str, tuple[float, bool, bool]]:
    return {r.incarnation: (r.stale_for_s, r.current, r.fenced) for r in book.readings(now, forget)}


def test_staleness_counts_from_the_first_read_that_showed_the_seq() -> None:
    """stale_for is measured on the reader's clock from when it first saw the content, so it
    never overstates how long the slot has been still."""
    book = SlotBook("a")
    book.read(10.0, [slot("b", 1)])
    book.read(11.0, [slot("b", 1)])
    book.read(12.0, [slot("b", 2)])
    assert _by_inc(book, 20.0) == {"b#1": (8.0, True, False)}


def test_own_slot_is_not_tracked() -> None:
    """A reader reports the others, not itself."""
    book = SlotBook("a")
    book.read(1.0, [slot("a", 1), slot("b", 1)])
    assert {r.host for r in book.readings(1.0, 100.0)} == {"b"}


def test_an_overwritten_incarnation_is_reported_as_no_longer_current() -> None:
    """When a later incarnation writes the slot, the earlier one keeps its staleness (it has
    not written since) and its fenced mark, and is reported as not current."""
    book = SlotBook("a")
    book.read(1.0, [slot("b", 5, fenced=True)])
    book.read(2.0, [slot("b", 1, inc="b#2")])
    assert _by_inc(book, 9.0) == {"b#1": (8.0, False, True), "b#2": (7.0, True, False)}


def test_an_earlier_incarnation_reappearing_is_ignored() -> None:
    """A stale replica showing an incarnation already replaced changes nothing."""
    book = SlotBook("a")
    book.read(1.0, [slot("b", 5)])
    book.read(2.0, [slot("b", 1, inc="b#2")])
    book.read(3.0, [slot("b", 6)])
    current = book.current("b")
    assert current is not None and current.incarnation == "b#2"


def test_old_incarnations_are_forgotten_after_a_while_and_in_number() -> None:
    """Replaced incarnations are dropped once still for longer than the forget window, and at
    most REMEMBERED_INCARNATIONS are kept."""
    book = SlotBook("a")
    for n in range(1, REMEMBERED_INCARNATIONS + 3):
        book.read(float(n), [slot("b", 1, inc=f"b#{n}")])
    assert len(_by_inc(book, 10.0)) == REMEMBERED_INCARNATIONS
    latest = f"b#{REMEMBERED_INCARNATIONS + 2}"
    assert set(_by_inc(book, 100.0, forget=5.0)) == {latest}


def test_each_reading_forwards_the_newest_signed_record_of_its_incarnation() -> None:
    """The record read with a slot travels with its reading, the newest per incarnation; an
    overwritten incarnation keeps its last record; an unsigned slot forwards none."""
    def rec(tag: str) -> SignedRecord:
        return SignedRecord(body=tag, sig="s")

    book = SlotBook("a")
    book.read(1.0, [slot("b", 1)], {"b": rec("b1")})
    book.read(2.0, [slot("b", 2)], {"b": rec("b2")})
    book.read(3.0, [slot("b", 1, inc="b#2")], {"b": rec("b#2")})
    book.read(4.0, [slot("c", 1)])
    records = {(r.host, r.incarnation): r.record for r in book.readings(5.0, 100.0)}
    assert records == {("b", "b#1"): rec("b2"), ("b", "b#2"): rec("b#2"), ("c", "c#1"): None}


def test_a_record_larger_than_its_host_would_write_is_not_forwarded() -> None:
    """A host that writes a bloated signed slot does not get it forwarded (its reading stays,
    without the record): otherwise every peer's observation would exceed the arbiter's bound
    and be dropped with all its other readings. A record at the bound is forwarded."""
    book = SlotBook("a")
    fits = SignedRecord(body="x" * (record_limit("b") - 1), sig="s")
    bloated = SignedRecord(body="x" * record_limit("c"), sig="s")
    book.read(1.0, [slot("b", 1), slot("c", 1)], {"b": fits, "c": bloated})
    records = {r.host: r.record for r in book.readings(2.0, 100.0)}
    assert records == {"b": fits, "c": None}
