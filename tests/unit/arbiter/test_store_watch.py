"""The leader's own reading of the heartbeat store (services.arbiter.stillness.StoreWatch):
stillness on the leader's clock, only from slots their hosts signed, replays ignored."""

from __future__ import annotations

from schemas.liveness import SignedRecord
from schemas.slot import Slot
from services.arbiter.stillness import StoreWatch
from tests.unit.arbiter.helpers import SIGNERS

FRESH = 9.0
KEYS: dict[str, str | None] = {"a": SIGNERS["a"].public, "b": SIGNERS["b"].public, "u": None}


def slot(host: str, seq: int, inc: str | None = None) -> Slot:
    return Slot(
        host=host, incarnation=inc or f"{host}#1", seq=seq, uptime_s=0.0, lease_ok=True,
        store_ok=True,
    )  # fmt: skip


def signed(s: Slot, signer: str | None = None) -> tuple[Slot, SignedRecord | None]:
    return s, SIGNERS[signer or s.host].sign(s.model_dump_json())


def still(watch: StoreWatch, host: str, now: float, inc: str | None = None) -> float | None:
    r = watch.reading(host, inc or f"{host}#1", now, FRESH)
    return None if r.slot is None else r.slot.still_for_s


def test_a_slot_is_still_from_the_first_read_of_its_newest_seq() -> None:
    """Stillness counts on the leader's clock from when it first read the newest seq; an
    advance starts it again."""
    watch = StoreWatch()
    watch.read(10.0, [signed(slot("a", 1))], KEYS)
    watch.read(15.0, [signed(slot("a", 1))], KEYS)
    assert still(watch, "a", 15.0) == 5.0
    watch.read(16.0, [signed(slot("a", 2))], KEYS)
    assert still(watch, "a", 20.0) == 4.0
    reading = watch.reading("a", "a#1", 20.0, FRESH)
    assert reading.slot is not None and reading.slot.seq == 2 and reading.slot.record is not None


def test_an_older_seq_read_again_is_a_replay_and_changes_nothing() -> None:
    """Another host that writes an old signed record of `a` into its slot neither resets nor
    advances it: only a higher seq does."""
    watch = StoreWatch()
    old = signed(slot("a", 1))
    watch.read(0.0, [signed(slot("a", 5))], KEYS)
    watch.read(8.0, [old], KEYS)
    assert still(watch, "a", 8.0) == 8.0


def test_a_slot_not_signed_by_its_host_says_nothing() -> None:
    """A keyed host's slot counts only with a record its own key signed: an advance signed by
    another host's key, or with no record, is ignored (so no one can keep a dead host looking
    alive); a host without a key is taken as read."""
    watch = StoreWatch()
    watch.read(0.0, [signed(slot("a", 1)), (slot("u", 1), None)], KEYS)
    watch.read(5.0, [signed(slot("a", 2), signer="b"), (slot("a", 3), None), (slot("u", 2), None)],
               KEYS)  # fmt: skip
    assert still(watch, "a", 10.0) == 10.0
    assert still(watch, "u", 10.0) == 5.0


def test_a_slot_never_read_is_not_still_and_foreign_names_are_ignored() -> None:
    """An incarnation whose slot the leader never read has stood still for nothing (only the
    outage branch or its own mark can then declare it); slots of hosts outside the pool are
    not tracked."""
    watch = StoreWatch()
    watch.read(0.0, [signed(slot("a", 1)), (slot("x", 1), None)], KEYS)
    assert still(watch, "b", 100.0 - FRESH) is None  # nothing tried within FRESH
    watch.read(100.0, [], KEYS)
    assert still(watch, "b", 100.0) == 0.0
    assert still(watch, "a", 100.0, inc="a#2") == 0.0
    assert still(watch, "x", 100.0) == 0.0


def test_failed_reads_are_an_outage_of_the_leaders_own_store() -> None:
    """Reads that fail make the store unreachable from the first failure on; a read that works
    ends it; with no read tried within the freshness window the watch says nothing."""
    watch = StoreWatch()
    watch.read(0.0, [signed(slot("a", 1))], KEYS)
    watch.read(3.0, None, KEYS)
    watch.read(6.0, None, KEYS)
    r = watch.reading("a", "a#1", 7.0, FRESH)
    assert r.slot is None and r.unreachable_for_s == 4.0
    assert watch.reading("a", "a#1", 6.0 + FRESH + 1, FRESH).unreachable_for_s is None
    watch.read(9.0, [signed(slot("a", 1))], KEYS)
    r = watch.reading("a", "a#1", 9.0, FRESH)
    assert r.unreachable_for_s is None and r.slot is not None and r.slot.still_for_s == 9.0
