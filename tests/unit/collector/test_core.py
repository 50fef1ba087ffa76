"""The collector core end to end: from what it saw to stay or fence, what it publishes, what it
executes and how long its watchdog may wait."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.messages import JoinAccepted
from services.collector.core import WATCHDOG_FIRED, Collector, Phase
from services.common.signing import HostSigner
from tests.unit.collector.helpers import (
    BEACON,
    HOSTS,
    TIMERS,
    heartbeat,
    member,
    order,
    outage_slots,
    slot,
)
from tests.unit.collector.test_table import design_says_stay

T, MARGIN = TIMERS.timeout_s, TIMERS.watchdog_margin_s
NOW = 30.0

LEASE = ("fresh", "expired")
STORE = ("fresh", "expired")
PEERS = ("none heard", "all lost the store", "one has the store")
SLOTS = ("all advance without lease", "one says lease_ok", "one is still")


def _collector(lease: str, store: str, peers: str, slots: str) -> Collector:
    """Host a at NOW, built from one choice per input."""
    c = Collector("a", "a#1", HOSTS, TIMERS, booted_at=0.0)
    c.phase = Phase.MEMBER
    c.lease_renewed(NOW - 1.0 if lease == "fresh" else NOW - T - 1.0)
    c.slot_written(NOW - 1.0 if store == "fresh" else NOW - T - 1.0, ok=True)
    if peers != "none heard":
        c.heard(NOW - 1.0, heartbeat("b", store_ok=False))
        c.heard(NOW - 1.0, heartbeat("c", store_ok=peers == "one has the store"))
    stops_at = NOW - T - 3.0 if slots == "one is still" else NOW
    for k in range(21):
        t = NOW - 20.0 + k
        c_seq = k if t <= stops_at else int(stops_at - (NOW - 20.0))
        c_lease = slots == "one says lease_ok" and t == NOW
        c.slots_read(t, [slot("b", k), slot("c", c_seq, lease_ok=c_lease)])
    return c


@pytest.mark.parametrize(
    ("lease", "store", "peers", "slots"), list(itertools.product(LEASE, STORE, PEERS, SLOTS))
)
def test_every_combination_of_inputs_follows_the_design(
    lease: str, store: str, peers: str, slots: str
) -> None:
    """Each combination of lease, store, peers' heartbeats and peers' slots gives the verdict
    DESIGN.md's table gives for the facts those inputs mean."""
    c = _collector(lease, store, peers, slots)
    out = c.tick(NOW)
    facts = out.facts
    assert facts is not None
    assert facts.lease_ok == (lease == "fresh")
    assert facts.store_ok == (store == "fresh")
    if facts.lease_ok and not facts.store_ok:
        assert facts.peers_lost_store == (peers != "one has the store")
    if facts.store_ok and not facts.lease_ok:
        assert facts.global_bus_outage == (slots == "all advance without lease")
    assert out.fence == (not design_says_stay(facts))


def test_a_stay_pets_the_watchdog_until_its_proofs_expire_plus_the_margin() -> None:
    """With both proofs fresh the deadline is the older proof + T + margin: a hung collector's
    VMs die one margin after a healthy one would have fenced."""
    c = member(now=0.0)
    c.lease_renewed(4.0)
    c.slot_written(5.0, ok=True)
    out = c.tick(5.5)
    assert not out.fence
    assert out.pet_until == 4.0 + T + MARGIN


def test_a_stay_through_a_global_bus_outage_trusts_the_peers_slots_no_longer_than_T() -> None:
    """Staying on the strength of the peers' advancing slots, the deadline is bounded by the
    oldest moment those slots are known to have advanced."""
    c = Collector("a", "a#1", HOSTS, TIMERS, booted_at=0.0)
    c.phase = Phase.MEMBER
    c.lease_renewed(0.0)
    outage_slots(c, until=15.0)
    c.slot_written(15.0, ok=True)
    out = c.tick(15.0)
    assert not out.fence
    assert out.pet_until == 14.0 + T + MARGIN  # b and c were last seen unchanged at 14 s


def test_fencing_kills_and_says_so_on_the_bus_and_in_the_slot() -> None:
    """A fence (no lease, no store) asks the shell to kill; once the kill is confirmed the
    host is empty and its mark is a fenced notice of this incarnation and a fenced slot;
    every later tick repeats the fence."""
    c = member(now=0.0, vms=("Minion 1",))
    out = c.tick(T + 1.0)
    assert out.fence and out.reason
    assert out.pet_until is None
    mark = c.vms_dead(T + 1.5)
    assert mark is not None and c.vms == set()
    assert mark.notice.incarnation == "a#1"
    assert mark.slot.fenced and mark.slot.incarnation == "a#1"
    assert c.tick(T + 2.0).fence


def test_orders_run_only_after_a_stay_and_only_for_this_incarnation() -> None:
    """Orders wait for the next stay verdict; another incarnation's or host's order is void;
    a VM already running is not started twice."""
    c = member(now=0.0, vms=("old",))
    c.order(order("web"))
    c.order(order("web"))
    c.order(order("old"))
    c.order(order("ghost", incarnation="a#0"))
    c.order(order("stray", host="b"))
    out = c.tick(1.0)
    assert [o.vm for o in out.starts] == ["web"]
    assert c.vms == {"old", "web"}
    assert c.tick(2.0).starts == ()


def test_orders_are_dropped_by_a_fencing_collector() -> None:
    """An order that arrives just before a fence is never executed."""
    c = member(now=0.0)
    c.order(order("web"))
    out = c.tick(T + 1.0)
    assert out.fence and out.starts == ()


def test_a_watchdog_that_fired_fences_the_incarnation() -> None:
    """When the watchdog killed the VMs (the collector hung), the next tick is a fence."""
    c = member(now=0.0, vms=("Minion 1",))
    c.watchdog_fired()
    assert c.vms == set()
    out = c.tick(1.0)
    assert out.fence and out.reason == WATCHDOG_FIRED


def test_proofs_are_advertised_only_while_comfortably_fresh() -> None:
    """Slots and heartbeats say lease_ok / store_ok only for proofs younger than T - 3
    intervals, so that in an outage of every host everybody shows the loss in time."""
    c = member(now=0.0)
    young = TIMERS.advertise_s - 0.1
    assert c.slot(young).lease_ok and c.slot(young).store_ok
    assert not c.slot(TIMERS.advertise_s).lease_ok
    assert not c.tick(TIMERS.advertise_s).heartbeat.store_ok


def test_observation_reports_slots_or_how_long_the_store_is_unreachable() -> None:
    """A readable store gives readings with staleness on this host's clock; an unreadable one
    gives the time since the last good write; both echo the newest beacon."""
    c = member(now=0.0)
    c.beacon(BEACON)
    c.slots_read(1.0, [slot("b", 4), slot("c", 2)])
    c.slots_read(3.0, [slot("b", 4), slot("c", 3)])
    obs = c.tick(3.0).observation
    assert obs.beacon == BEACON and obs.unreachable_for_s is None
    stale = {r.host: r.stale_for_s for r in obs.readings}
    assert stale == {"b": 2.0, "c": 0.0}
    c.slot_written(4.0, ok=True)
    c.slots_read(9.0, None)
    obs = c.tick(9.0).observation
    assert obs.readings == () and obs.unreachable_for_s == 5.0


def test_joining_says_why_it_cannot_join() -> None:
    """A new incarnation says in words what it lacks, in its slot and tick."""
    c = Collector("a", "a#2", HOSTS, TIMERS, booted_at=0.0)
    assert c.tick(1.0).reason == (
        "cannot join the liveset: neither the heartbeat store nor the bus is reachable"
    )
    c.lease_renewed(1.0)
    assert c.tick(1.5).reason == "cannot join the liveset: the heartbeat store is not reachable"
    assert c.slot(1.5).reason == "cannot join the liveset: the heartbeat store is not reachable"
    d = Collector("a", "a#2", HOSTS, TIMERS, booted_at=0.0)
    d.slot_written(1.0, ok=True)
    assert "bus is not reachable" in (d.tick(1.5).reason or "")


def test_joining_asks_only_with_store_bus_and_a_beacon_then_becomes_a_member() -> None:
    """No request without both proofs and a leader's beacon; the request echoes the beacon; an
    acceptance for another incarnation is ignored; orders before acceptance are dropped."""
    c = Collector("a", "a#2", HOSTS, TIMERS, booted_at=0.0)
    c.lease_renewed(1.0)
    c.slot_written(1.0, ok=True)
    first = c.tick(1.0)
    assert first.join is None
    assert first.pet_until == 1.0 + TIMERS.watchdog_deadline_s  # no VM runs while joining
    c.beacon(BEACON)
    c.order(order("web", incarnation="a#2"))
    out = c.tick(2.0)
    assert out.join is not None and out.join.beacon == BEACON and out.starts == ()
    c.join_accepted(JoinAccepted(host="a", incarnation="a#1"))
    assert c.phase is Phase.JOINING
    c.join_accepted(JoinAccepted(host="a", incarnation="a#2"))
    assert c.phase is Phase.MEMBER
    assert c.tick(3.0).pet_until is not None


def test_a_joining_incarnation_that_asked_and_lost_both_paths_restarts() -> None:
    """Once it asked to join, the leader may count it as a member: losing the store and the
    bus, it fences (restarts) rather than stay unreachable with orders pending for it."""
    c = Collector("a", "a#2", HOSTS, TIMERS, booted_at=0.0)
    c.lease_renewed(1.0)
    c.slot_written(1.0, ok=True)
    c.beacon(BEACON)
    assert c.tick(1.0).join is not None
    assert not c.tick(5.0).fence
    assert c.tick(1.0 + T).fence
    never_asked = Collector("a", "a#3", HOSTS, TIMERS, booted_at=0.0)
    assert not never_asked.tick(1.0 + T).fence


@settings(max_examples=300, deadline=None)
@given(
    lease=st.one_of(st.none(), st.floats(0, 40)),
    store=st.one_of(st.none(), st.floats(0, 40)),
    peers=st.lists(st.tuples(st.sampled_from(("b", "c")), st.floats(0, 40), st.booleans())),
    reads=st.lists(
        st.tuples(st.floats(0, 40), st.integers(0, 5), st.integers(0, 5), st.booleans()),
        max_size=12,
    ),
    now=st.floats(40, 60),
)
def test_the_watchdog_never_outlives_the_proofs_and_stale_hosts_fence(
    lease: float | None,
    store: float | None,
    peers: list[tuple[str, float, bool]],
    reads: list[tuple[float, int, int, bool]],
    now: float,
) -> None:
    """Whatever a member saw, a stay pets the watchdog no later than its newest proof + T +
    margin (and not in the past), and without any proof younger than T it fences."""
    c = Collector("a", "a#1", HOSTS, TIMERS, booted_at=0.0)
    c.phase = Phase.MEMBER
    if lease is not None:
        c.lease_renewed(lease)
    if store is not None:
        c.slot_written(store, ok=True)
    for host, at, store_ok in peers:
        c.heard(at, heartbeat(host, store_ok=store_ok))
    for at, b_seq, c_seq, lease_flag in sorted(reads):
        c.slots_read(at, [slot("b", b_seq, lease_ok=lease_flag), slot("c", c_seq)])
    out = c.tick(now)
    proofs = [p for p in (lease, store) if p is not None and now - p < T]
    if not proofs:
        assert out.fence
    elif not out.fence:
        assert out.pet_until is not None
        assert now <= out.pet_until <= max(proofs) + T + MARGIN


def test_the_join_request_carries_the_incarnations_own_signed_slot() -> None:
    """The request carries this incarnation's slot exactly as the store read it back, signed
    (the arbiter takes a keyed host's join only on it); a record of an earlier incarnation of
    the host, still in the store, is never sent as this one's."""
    signer = HostSigner.generate()
    c = Collector("a", "a#2", HOSTS, TIMERS, booted_at=0.0)
    c.lease_renewed(1.0)
    c.slot_written(1.0, ok=True)
    c.beacon(BEACON)
    old = c.slot(1.0).model_copy(update={"incarnation": "a#1"})
    c.slots_read(1.0, [old], {"a": signer.sign(old.model_dump_json())})
    request = c.tick(1.0).join
    assert request is not None and request.record is None
    mine = c.slot(1.5)
    record = signer.sign(mine.model_dump_json())
    c.slots_read(1.5, [mine], {"a": record})
    request = c.tick(2.0).join
    assert request is not None and request.record == record
