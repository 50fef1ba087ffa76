"""Heartbeats are never taken late (issue 14, docs/protocol.md): a heartbeat echoes the newest
leader beacon its sender had; the leader ignores one whose beacon it sent more than F ago (or
has forgotten), so a heartbeat held up in a frozen server does not confirm a VM as running;
one echoing a fresh beacon, or no beacon of this term, is taken as before."""

from __future__ import annotations

from schemas.messages import Beacon, FencedNotice, NetworkHeartbeat
from services.arbiter.view import RestartOrdered, VmRunning
from services.common.echo import beacons_behind, is_stale, newer
from services.common.timers import Timers
from tests.unit.arbiter.helpers import T_DEAD, TIMERS, Clock, leader


def hb(beacon: Beacon | None) -> NetworkHeartbeat:
    return NetworkHeartbeat(host="c", incarnation="c#1", seq=1, lease_ok=True, store_ok=True,
                            vms=("web",), beacon=beacon)  # fmt: skip


def ordered_web_on_c() -> Clock:
    """a died (its fenced notice heard): web is ordered to c and waits for c to run it."""
    clock = Clock(leader(0.0))
    clock.alive.discard("a")
    clock.arb.fenced_notice(FencedNotice(host="a", incarnation="a#1"), 0.5)
    clock.run_until(T_DEAD)
    [order] = clock.of(RestartOrdered)
    assert (order.vm, order.host) == ("web", "c")
    return clock


def test_a_heartbeat_echoing_a_beacon_older_than_f_is_ignored() -> None:
    """The heartbeat echoes a beacon sent more than F ago: it says nothing current, so web
    is not confirmed running; the same heartbeat echoing the newest beacon confirms it."""
    clock = ordered_web_on_c()
    old = clock.beacon
    assert old is not None
    while clock.now < T_DEAD + TIMERS.fresh_s + 1.5:
        clock.step()
    assert clock.arb.heartbeat(hb(old), clock.now) is False
    clock.step()
    assert clock.of(VmRunning) == []
    assert clock.arb.heartbeat(hb(clock.beacon), clock.now) is True
    clock.step()
    assert clock.of(VmRunning) == [VmRunning("web", "c", "c#1")]


def test_a_heartbeat_without_a_beacon_of_this_term_is_taken() -> None:
    """No beacon, or another leader's: its age cannot be told, and it is taken as before."""
    clock = ordered_web_on_c()
    other = Beacon(leader="someone else", term=7, seq=1)
    assert clock.arb.heartbeat(hb(other), clock.now) is True
    assert clock.arb.heartbeat(hb(None), clock.now) is True


def test_a_peer_ignores_a_heartbeat_more_than_three_beacons_behind_its_own() -> None:
    """Collectors cannot measure the age, but can count beacons of the same leader and term:
    F = 3 intervals is 3 beacons, whatever T."""
    for t in (1.0, 30.0, 90.0):
        assert beacons_behind(Timers.from_timeout(t)) == 3
    behind = beacons_behind(TIMERS)
    newest = Beacon(leader="arb", term=2, seq=10)
    assert not is_stale(Beacon(leader="arb", term=2, seq=10 - behind), newest, behind)
    assert is_stale(Beacon(leader="arb", term=2, seq=9 - behind), newest, behind)
    assert not is_stale(Beacon(leader="arb", term=1, seq=1), newest, behind)  # another term
    assert not is_stale(None, newest, behind) and not is_stale(newest, None, behind)


def test_a_late_beacon_never_rolls_the_echo_back() -> None:
    """An older beacon of the same term, or any beacon of an earlier term (a deposed leader's,
    delivered late), leaves the echo as it was; a later term's beacon replaces it."""
    newest = Beacon(leader="arb", term=2, seq=10)
    assert newer(newest, Beacon(leader="arb", term=2, seq=3)) == newest
    assert newer(newest, Beacon(leader="old", term=1, seq=500)) == newest
    assert newer(newest, Beacon(leader="arb", term=1, seq=11)) == newest
    fresh = Beacon(leader="arb2", term=3, seq=1)
    assert newer(newest, fresh) == fresh
    assert newer(None, newest) == newest
