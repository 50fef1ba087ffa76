"""A collector ignores a peer's heartbeat delivered late (its echoed beacon more than three
beacons behind the collector's own newest), so an old `store_ok` is not taken for the peer's
current word; it echoes the newest beacon in its own heartbeats, never rolled back."""

from __future__ import annotations

from schemas.messages import Beacon, NetworkHeartbeat
from tests.unit.collector.helpers import member


def peer_hb(beacon: Beacon | None, *, store_ok: bool) -> NetworkHeartbeat:
    return NetworkHeartbeat(host="b", incarnation="b#1", seq=1, lease_ok=True,
                            store_ok=store_ok, beacon=beacon)  # fmt: skip


def test_a_late_peer_heartbeat_is_not_taken() -> None:
    """b's heartbeat echoing beacon 1 (store_ok, an old word) arrives when this collector
    has beacon 9: ignored, so 'every peer lost the store' holds on c's current word; b's
    heartbeat echoing beacon 8 counts."""
    c = member()
    c.beacon(Beacon(leader="arb", term=1, seq=9))
    c.heard(1.0, peer_hb(Beacon(leader="arb", term=1, seq=1), store_ok=True))
    c.heard(1.0, NetworkHeartbeat(host="c", incarnation="c#1", seq=1, lease_ok=True,
                                  store_ok=False))  # fmt: skip
    assert c.peers_lost_store(1.5) is True  # b's late word is not there
    c.heard(2.0, peer_hb(Beacon(leader="arb", term=1, seq=8), store_ok=True))
    assert c.peers_lost_store(2.5) is False


def test_the_heartbeat_echoes_the_newest_beacon() -> None:
    """A late beacon of the same term does not replace a newer one in what is echoed."""
    c = member()
    c.beacon(Beacon(leader="arb", term=1, seq=5))
    c.beacon(Beacon(leader="arb", term=1, seq=2))
    assert c._heartbeat(0.0).beacon == Beacon(leader="arb", term=1, seq=5)
