"""How the collector core derives the four facts of THE TABLE from what it saw (DESIGN.md)."""

from __future__ import annotations

from services.collector.core import Collector
from tests.unit.collector.helpers import (
    HOSTS,
    TIMERS,
    heartbeat,
    member,
    outage_slots,
    slot,
)

T = TIMERS.timeout_s


def test_lease_ok_means_a_renewal_sent_within_T() -> None:
    """The proof dates from the renewal's send time, and an older acknowledgement arriving
    late does not move it back."""
    c = Collector("a", "a#1", HOSTS, TIMERS, booted_at=0.0)
    assert not c.lease_ok(0.0)
    c.lease_renewed(5.0)
    c.lease_renewed(4.0)
    assert c.lease_ok(5.0 + T - 0.01)
    assert not c.lease_ok(5.0 + T)


def test_store_ok_needs_a_write_that_read_back_within_T() -> None:
    """A failed write proves nothing; a successful one proves the store for T."""
    c = Collector("a", "a#1", HOSTS, TIMERS, booted_at=0.0)
    c.slot_written(3.0, ok=False)
    assert not c.store_ok(3.0)
    c.slot_written(4.0, ok=True)
    assert c.store_ok(4.0 + T - 0.01)
    assert not c.store_ok(4.0 + T)


def test_peers_lost_store_when_every_peer_heard_within_T_lost_it() -> None:
    """Every peer heard on the bus within T must report store_ok = false; a peer heard longer
    ago does not count either way, and with no peer heard fencing would help no one."""
    c = member()
    assert c.peers_lost_store(1.0)
    c.heard(1.0, heartbeat("b", store_ok=False))
    c.heard(1.0, heartbeat("c", store_ok=False))
    assert c.peers_lost_store(2.0)
    c.heard(2.0, heartbeat("c", store_ok=True))
    assert not c.peers_lost_store(2.0)
    assert c.peers_lost_store(2.0 + T)  # c's good news is older than T by then


def test_global_bus_outage_when_every_other_slot_advances_without_a_lease() -> None:
    """Every other host's slot read within T, advanced within T, none saying lease_ok."""
    c = member()
    outage_slots(c, until=5.0)
    assert c.global_bus_outage(5.0)


def test_no_global_bus_outage_while_a_peer_says_it_holds_the_lease() -> None:
    """One slot saying lease_ok means someone may hold the quorum: not a global outage."""
    c = member()
    outage_slots(c, until=4.0)
    c.slots_read(5.0, [slot("b", 99, lease_ok=True), slot("c", 99)])
    assert not c.global_bus_outage(5.0)


def test_no_global_bus_outage_when_a_slot_was_never_read_or_stopped() -> None:
    """A host whose slot was never read, or has not advanced for T, may hold the quorum."""
    c = member()
    for t in range(6):
        c.slots_read(float(t), [slot("b", t + 1)])  # c's slot is never seen
    assert not c.global_bus_outage(5.0)
    d = member()
    outage_slots(d, until=2.0)
    for t in range(3, 20):
        d.slots_read(float(t), [slot("b", t + 1), slot("c", 3)])  # c stops at seq 3
    # c's seq 3 was first read at 2 s, so it was written after the read at 1 s at the earliest.
    assert d.global_bus_outage(1.0 + T - 0.5)
    assert not d.global_bus_outage(1.0 + T)


def test_an_advance_seen_after_a_blind_spell_dates_from_the_last_old_reading() -> None:
    """If the reader could not read for a while, a new seq may have been written long ago: the
    advance counts from the last read that still showed the old seq."""
    c = member()
    c.slots_read(0.0, [slot("b", 1), slot("c", 1)])
    c.slots_read(1.0, [slot("b", 2), slot("c", 2)])
    c.slots_read(20.0, [slot("b", 3), slot("c", 3)])  # unread from 1 s to 20 s
    assert not c.global_bus_outage(20.0)
    c.slots_read(21.0, [slot("b", 4), slot("c", 4)])
    assert c.global_bus_outage(21.0)


def test_a_new_incarnation_in_a_slot_counts_as_an_advance() -> None:
    """A rebooted peer writes a new incarnation: its slot has advanced."""
    c = member()
    c.slots_read(0.0, [slot("b", 7), slot("c", 1)])
    c.slots_read(1.0, [slot("b", 1, inc="b#2"), slot("c", 2)])
    assert c.global_bus_outage(1.5)


def test_facts_skip_peer_facts_outside_their_row() -> None:
    """peers_lost_store is only reported for (lease ok, store lost), global_bus_outage only for
    (lease lost, store ok): the other rows do not depend on them."""
    c = member(now=0.0)
    facts = c.facts(1.0)
    assert (facts.lease_ok, facts.store_ok) == (True, True)
    assert not facts.peers_lost_store and not facts.global_bus_outage
