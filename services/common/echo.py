"""How old a message is, without comparing clocks: by the leader beacon it echoes
(docs/protocol.md, Heartbeats are never late).

The leader sends a numbered beacon every interval, and a collector echoes the newest it has in
its heartbeat. The leader knows when it sent each beacon, so it measures a heartbeat's age on its
own clock (services.arbiter.core). A peer collector cannot, but it can count: a heartbeat
echoing a beacon of the same leader and term that is more beacons older than the newest one
the peer has than the freshness window F holds (`beacons_behind`) was sent at least F ago, or
by a host that has not heard the leader for as long; either way what it says is not current.

Pure.
"""

from __future__ import annotations

from schemas.messages import Beacon
from services.common.timers import Timers


def beacons_behind(timers: Timers) -> int:
    """The freshness window of a report (Timers.fresh_s, F) in beacons: one per interval."""
    return round(timers.fresh_s / timers.interval_s)


def same_term(a: Beacon, b: Beacon) -> bool:
    return (a.leader, a.term) == (b.leader, b.term)


def is_stale(echoed: Beacon | None, newest: Beacon | None, behind: int) -> bool:
    """`echoed` is provably older than `newest` by more than `behind` beacons
    (`beacons_behind`). Without a beacon of the same leader and term to compare with, nothing
    is proved."""
    if echoed is None or newest is None or not same_term(echoed, newest):
        return False
    return newest.seq - echoed.seq > behind


def newer(current: Beacon | None, received: Beacon) -> Beacon:
    """The beacon to echo after `received` arrives: a late beacon must not roll the echo back,
    neither an older one of the same term nor one of an earlier term (a deposed leader's: terms
    only grow)."""
    if current is None or received.term > current.term:
        return received
    if received.term < current.term:
        return current
    if same_term(current, received) and received.seq <= current.seq:
        return current
    return received
