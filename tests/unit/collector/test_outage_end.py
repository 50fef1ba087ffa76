"""The end of a global bus outage (docs/protocol.md, The end of an outage; issue 14): for two
intervals after the last evaluation at which the outage rule held, a host whose lease is still
stale stays when the only thing against the outage is a peer advertising its lease again.

T = 10 s here: interval 1 s, T_dead 14 s, slots advertise a lease younger than 7 s.
"""

from __future__ import annotations

from services.collector.core import Collector
from tests.unit.collector.helpers import TIMERS, member, slot

T, INTERVAL = TIMERS.timeout_s, TIMERS.interval_s
END = 15.0  # the bus comes back: a's lease (renewed at 0 s) has been stale since T


def _through_the_outage() -> Collector:
    """a's lease was last renewed at 0 s; every slot advances, none advertises a lease, and a
    stays by the outage rule at every interval up to END."""
    c = member(0.0)
    t = 0.0
    while t <= END:
        c.slots_read(t, [slot("b", 1 + int(t)), slot("c", 1 + int(t))])
        c.slot_written(t, True)
        tick = c.tick(t)
        assert not tick.fence, (t, tick.reason)
        t += INTERVAL
    return c


def _peers_renewed(c: Collector, at: float, b_lease: bool = True) -> None:
    """b renewed and advertises its lease in its next slot; c's slot advances without one."""
    seq = 100 + int(at)
    b = slot("b", seq, lease_ok=b_lease).model_copy(update={"lease_age_s": 0.0 if b_lease else T})
    c.slots_read(at, [b, slot("c", seq)])
    c.slot_written(at, True)


def test_a_renewal_one_interval_after_the_peers_does_not_fence() -> None:
    """a reads b's fresh lease one interval after its last outage evaluation while its own
    renewal has not landed: it stays; its renewal lands at the next interval."""
    c = _through_the_outage()
    last = END - (END % INTERVAL)
    _peers_renewed(c, last + INTERVAL)
    tick = c.tick(last + INTERVAL)
    assert not tick.fence, tick.reason
    assert tick.facts is not None and not tick.facts.lease_ok
    c.lease_renewed(last + 2 * INTERVAL)
    _peers_renewed(c, last + 2 * INTERVAL)
    assert not c.tick(last + 2 * INTERVAL).fence


def test_the_grace_ends_two_intervals_after_the_outage_held_last() -> None:
    """Without a renewal of its own, a fences at the second interval after the outage held
    last: the bus answers its peers and not this host."""
    c = _through_the_outage()
    last = END - (END % INTERVAL)
    _peers_renewed(c, last + INTERVAL)
    assert not c.tick(last + INTERVAL).fence
    _peers_renewed(c, last + 2 * INTERVAL)
    tick = c.tick(last + 2 * INTERVAL)
    assert tick.fence
    assert tick.reason == "the bus quorum is lost while another host may hold it"


def test_no_grace_without_an_outage_first() -> None:
    """A host that lost the bus alone (its peers advertised their leases throughout) never
    had the outage hold: it fences as soon as its lease is stale."""
    c = member(0.0)
    t = 0.0
    while t < T:
        _peers_renewed(c, t)
        assert not c.tick(t).fence
        t += INTERVAL
    _peers_renewed(c, t)
    assert c.tick(t).fence


def test_no_grace_when_a_peer_slot_stops_advancing() -> None:
    """The grace covers peers that renew again, nothing else: when c's slot stops advancing
    (c may have lost the store while it holds the bus) a fences at the first evaluation that
    no longer counts c's slot as advancing, as before the grace."""
    c = _through_the_outage()
    last = END - (END % INTERVAL)
    t = last + INTERVAL
    while True:
        c.slots_read(t, [slot("b", 200 + int(t)), slot("c", 1 + int(last))])  # c froze
        c.slot_written(t, True)
        tick = c.tick(t)
        if not c.global_bus_outage(t):
            break
        assert not tick.fence, (t, tick.reason)
        t += INTERVAL
    assert t <= last + T + INTERVAL  # c's slot counts as advancing for T, then blocks the outage
    assert tick.fence
