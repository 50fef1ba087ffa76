"""When a collector whose renewals fail should change NATS servers (Collector.peer_renews_fresher,
docs/protocol.md "NATS cluster faults"): only while a peer renews and it does not."""

from __future__ import annotations

from collections.abc import Callable

from schemas.slot import Slot
from services.collector.core import Collector
from tests.unit.collector.helpers import TIMERS, member, slot


def _with_age(s: Slot, age: float) -> Slot:
    return s.model_copy(update={"lease_ok": True, "lease_age_s": age})


def _peers_write(c: Collector, until: float, age_at: Callable[[float], float]) -> None:
    """b and c write their slots every interval up to `until`, with the lease age
    `age_at(t)` at write time t; `c` reads each at once."""
    t, seq = 0.0, 1
    while t <= until:
        age = age_at(t)
        c.slots_read(t, [_with_age(slot("b", seq), age), _with_age(slot("c", seq), age)])
        t += TIMERS.interval_s
        seq += 1


def test_a_host_whose_renewals_fail_while_its_peers_renew_should_move() -> None:
    """A cut route: the peers' slots keep showing fresh leases (written 0.2 s after a
    renewal) while this host's last renewal was at 0. Within an interval and a half nothing
    is said; past it, the peers renew fresher: move."""
    c = member(now=0.0)
    _peers_write(c, until=1.0, age_at=lambda t: 0.2)
    assert not c.peer_renews_fresher(1.0)
    _peers_write(c, until=3.0, age_at=lambda t: 0.2)
    assert c.peer_renews_fresher(3.0)


def test_a_stall_of_the_whole_cluster_moves_nobody() -> None:
    """Every renewal fails from 0 on (the cluster elects a leader): the peers' proofs age as
    this host's does, so no move, however long it lasts."""
    c = member(now=0.0)
    for until in (2.0, 5.0, 9.0):
        _peers_write(c, until=until, age_at=lambda t: t)
        assert not c.peer_renews_fresher(until)


def test_a_still_slot_or_one_without_an_age_is_no_reason_to_move() -> None:
    """A peer whose slot stopped advancing (it died with a fresh lease written) or that
    writes no age (an older collector) does not make this host move."""
    c = member(now=0.0)
    c.slots_read(0.0, [_with_age(slot("b", 1), 0.0), slot("c", 1, lease_ok=True)])
    for t in (5.0, 9.0, 11.0):
        c.slots_read(t, [_with_age(slot("b", 1), 0.0), slot("c", int(t), lease_ok=True)])
        assert not c.peer_renews_fresher(t)
