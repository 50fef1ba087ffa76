"""The global-bus-outage rule counts only the hosts that can still act (DESIGN.md, Liveness;
issue 14): a slot still for T_dead belongs to a host that fenced or died, and a peer's lease
age as written in its slot is aged by the time since this host first saw it.

T = 10 s here: interval 1 s, margin 2 s, T_dead 14 s, slots advertise a lease younger than 7 s.
"""

from __future__ import annotations

from schemas.slot import Slot
from services.collector.core import Collector, Phase
from tests.unit.collector.helpers import HOSTS, TIMERS, heartbeat, slot

T, T_DEAD, MARGIN = TIMERS.timeout_s, TIMERS.t_dead_s, TIMERS.watchdog_margin_s


def _aged(host: str, seq: int, lease_age_s: float | None, lease_ok: bool = True) -> Slot:
    return slot(host, seq, lease_ok=lease_ok).model_copy(update={"lease_age_s": lease_age_s})


def _b_advances_c_froze(c: Collector, frozen_at: float, until: float, c_lease: bool) -> None:
    """b writes every interval without a lease; c's last slot (seq 1, saying lease_ok as
    `c_lease`) was written before `frozen_at` and never again: c fenced or died."""
    t, seq = 0.0, 1
    while t <= until:
        c_slot = slot("c", 1 if t >= frozen_at else seq, lease_ok=c_lease)
        c.slots_read(t, [slot("b", seq), c_slot])
        t += TIMERS.interval_s
        seq += 1


def _outage_member() -> Collector:
    c = Collector("a", "a#1", HOSTS, TIMERS, booted_at=0.0)
    c.phase = Phase.MEMBER
    return c


def test_a_slot_still_for_t_dead_does_not_block_the_outage_even_saying_lease_ok() -> None:
    """c's slot froze (saying lease_ok, as a host powered off with a fresh lease leaves it)
    and has been still for T_dead: c fenced or died, so b alone decides. Just short of T_dead
    (still for more than T) it still blocks: c may merely have lost the store."""
    c = _outage_member()
    _b_advances_c_froze(c, frozen_at=1.0, until=1.0 + T_DEAD, c_lease=True)
    assert c.global_bus_outage(1.0 + T_DEAD)  # seq 1 was first seen at 0 s
    d = _outage_member()
    _b_advances_c_froze(d, frozen_at=1.0, until=T_DEAD - 0.5, c_lease=False)
    assert not d.global_bus_outage(T_DEAD - 0.5)


def test_a_still_slot_whose_host_was_heard_on_the_bus_since_is_not_a_dead_host() -> None:
    """c's slot froze at 1 s, but c was heard on the bus at 5 s: c lived on without the store
    (and may hold a lease), so even still for T_dead its slot blocks the outage."""
    c = _outage_member()
    _b_advances_c_froze(c, frozen_at=1.0, until=1.0 + T_DEAD, c_lease=False)
    c.heard(5.0, heartbeat("c", store_ok=False))
    assert not c.global_bus_outage(1.0 + T_DEAD)
    d = _outage_member()
    _b_advances_c_froze(d, frozen_at=1.0, until=1.0 + T_DEAD, c_lease=False)
    d.heard(0.5, heartbeat("c", store_ok=True))  # its last heartbeat, before the last slot
    assert d.global_bus_outage(1.0 + T_DEAD)


def test_an_advancing_slot_saying_lease_ok_still_blocks_the_outage() -> None:
    """The dead host is ignored, not the living: b's advancing slot advertising its lease
    means b may hold the quorum, whatever c's frozen slot says."""
    c = _outage_member()
    _b_advances_c_froze(c, frozen_at=1.0, until=20.0, c_lease=False)
    c.slots_read(21.0, [slot("b", 99, lease_ok=True), slot("c", 1)])
    assert not c.global_bus_outage(21.0)


def test_a_stay_through_the_outage_is_not_bounded_by_a_dead_hosts_last_advance() -> None:
    """The watchdog window of a stay verdict is bounded by the advancing slots (and by the
    last reads), not by the frozen slot of a host that died long ago."""
    c = _outage_member()
    c.lease_renewed(17.0)
    _b_advances_c_froze(c, frozen_at=1.0, until=30.0, c_lease=True)
    c.slot_written(30.0, ok=True)
    out = c.tick(30.0)
    assert out.facts is not None and out.facts.global_bus_outage
    assert not out.fence
    assert out.pet_until == 29.0 + T + MARGIN  # b last seen unchanged at 29 s


def test_a_lease_age_is_aged_by_the_time_since_the_slot_was_first_seen() -> None:
    """b's last slot says its lease was 6 s old (lease_ok, under the 7 s advertised) and b
    then stopped writing: 1 s after this host first saw that slot, b's lease is at least 7 s
    old and no longer counts as held. Before that it does."""
    c = _outage_member()
    for k in range(5):
        c.slots_read(float(k), [_aged("b", k + 1, 2.0 + k), slot("c", k + 1)])
    c.slots_read(5.0, [_aged("b", 6, 6.0), slot("c", 6)])
    assert not c.global_bus_outage(5.5)
    assert c.global_bus_outage(6.0)


def test_a_slot_without_a_lease_age_says_what_its_lease_ok_says() -> None:
    """A slot written by an older collector (no lease_age_s) is taken at its word: lease_ok
    blocks the outage for as long as the slot advances."""
    c = _outage_member()
    for k in range(10):
        c.slots_read(float(k), [_aged("b", k + 1, None, lease_ok=True), slot("c", k + 1)])
    assert not c.global_bus_outage(9.5)


def test_the_slot_carries_the_age_of_the_lease_proof() -> None:
    """The writer says how old its lease proof is, and nothing before its first renewal."""
    c = Collector("a", "a#1", HOSTS, TIMERS, booted_at=0.0)
    assert c.slot(1.0).lease_age_s is None
    c.lease_renewed(2.0)
    written = c.slot(5.5)
    assert written.lease_age_s == 3.5 and written.lease_ok
    assert Slot.model_validate_json(written.model_dump_json()) == written
    legacy = written.model_dump(exclude={"lease_age_s"})
    assert Slot.model_validate(legacy).lease_age_s is None
