"""How old a message is, without comparing clocks: by the leader beacon it echoes
(docs/protocol.md, Heartbeats are never late).

The leader sends a numbered beacon every interval, and a collector echoes the newest it has in
its heartbeat. The leader knows when it sent each beacon, so it measures a heartbeat's age on its
own clock (services.arbiter.core). A peer collector cannot, but it can count: a heartbeat echoing
a beacon of the same leader and term that is more than `BEACONS_BEHIND` beacons older than the
newest one the peer has was sent at least that many intervals ago, or by a host that has not
heard the leader for as long; either way what it says is not current.

Pure.
"""

from __future__ import annotations

from schemas.messages import Beacon

# The freshness window of a report (services.common.timers: F = 3 intervals), in beacons.
BEACONS_BEHIND = 3


def same_term(a: Beacon, b: Beacon) -> bool:
    return (a.leader, a.term) == (b.leader, b.term)


def is_stale(echoed: Beacon | None, newest: Beacon | None) -> bool:
    """`echoed` is provably older than `newest` by more than BEACONS_BEHIND beacons. Without
    a beacon of the same leader and term to compare with, nothing is proved."""
    if echoed is None or newest is None or not same_term(echoed, newest):
        return False
    return newest.seq - echoed.seq > BEACONS_BEHIND


def newer(current: Beacon | None, received: Beacon) -> Beacon:
    """The beacon to echo after `received` arrives: a late beacon of the same term must not
    roll the echo back."""
    if current is not None and same_term(current, received) and received.seq <= current.seq:
        return current
    return received
