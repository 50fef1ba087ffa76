"""The arbiter core: when it declares hosts dead, where the VMs go, and what it ignores."""

from __future__ import annotations

from schemas.messages import Beacon, FencedNotice, NetworkHeartbeat
from services.arbiter.core import Arbiter
from services.arbiter.rules import rule_holds
from services.arbiter.view import (
    DeclaredDead,
    Fenced,
    Joined,
    RestartOrdered,
    Suspected,
    VmRunning,
)
from tests.unit.arbiter.helpers import (
    JOINED,
    POOL,
    T_DEAD,
    TIMERS,
    Clock,
    T,
    join,
    leader,
    observation,
    reading,
)


def test_declares_nothing_for_T_dead_after_becoming_leader() -> None:
    """A fenced mark received at once waits until the leader has led for T_dead; then the fast
    path declares the host dead with evidence that passes the re-check."""
    clock = Clock(leader(0.0))
    clock.alive.discard("a")
    clock.arb.fenced_notice(FencedNotice(host="a", incarnation="a#1"), 0.5)
    clock.run_until(T_DEAD - 1)
    assert clock.dead() == []
    assert isinstance(clock.decisions[0], Fenced)
    clock.run_until(T_DEAD)
    [dead] = clock.dead()
    assert dead.host == "a" and dead.evidence.rule == "fenced"
    assert dead.evidence.leader_for_s >= T_DEAD and rule_holds(dead.evidence, TIMERS)


def test_the_fast_path_waits_while_the_lease_was_renewed_since_the_mark() -> None:
    """A renewal after the mark (one still in flight when the host fenced) blocks the fast
    path until the host says `fenced` again."""
    clock = Clock(leader(0.0))
    clock.run_until(T_DEAD + 1)
    clock.alive.discard("a")
    clock.arb.fenced_notice(FencedNotice(host="a", incarnation="a#1"), clock.now + 0.1)
    clock.arb.lease_renewed("a", "a#1", clock.now + 0.2)
    clock.step()
    assert clock.dead() == []
    clock.step(observation("b", clock.beacon, reading("a", 1.0, fenced=True)))
    assert [d.evidence.rule for d in clock.dead()] == ["fenced"]


def test_marks_of_other_incarnations_are_ignored() -> None:
    """A fenced notice or slot of an incarnation other than the joined one changes nothing."""
    clock = Clock(leader(0.0))
    clock.run_until(T_DEAD + 1)
    clock.arb.fenced_notice(FencedNotice(host="a", incarnation="a#0"), clock.now)
    clock.step(
        observation("b", clock.beacon, reading("a", 1.0, inc="a#0", fenced=True, current=False))
    )
    clock.run_until(T_DEAD + 5)
    assert [d for d in clock.decisions if isinstance(d, Fenced | DeclaredDead)] == []


def test_timeout_needs_lease_silence_and_a_fresh_still_slot() -> None:
    """A silent host is declared dead by timeout once a fresh reading shows its slot still for
    T_dead; the evidence names the observer."""
    clock = Clock(leader(0.0))
    clock.run_until(T_DEAD + 1)
    clock.alive.discard("a")
    silent_from = clock.now
    while not clock.dead():
        still = clock.now - silent_from
        clock.step(observation("b", clock.beacon, reading("a", still, seq=9)))
        assert clock.now < silent_from + T_DEAD + 3
    [dead] = clock.dead()
    assert dead.evidence.rule == "timeout"
    assert dead.evidence.lease_silent_for_s >= T_DEAD
    assert dead.evidence.slot_stale is not None and dead.evidence.slot_stale.observer == "b"
    assert rule_holds(dead.evidence, TIMERS)


def test_readings_that_echo_an_old_or_foreign_beacon_are_not_fresh() -> None:
    """A reading proves nothing about now unless it echoes a beacon this leader sent within
    the freshness window: late or foreign readings never declare anyone dead."""
    clock = Clock(leader(0.0))
    clock.run_until(2)
    old = clock.beacon
    foreign = Beacon(leader="someone else", term=7, seq=1)
    clock.alive.discard("a")
    for _ in range(60):
        clock.step(
            observation("b", old, reading("a", 1000.0)),
            observation("c", foreign, reading("a", 1000.0)),
        )
    assert clock.dead() == []


def test_a_host_that_keeps_writing_its_slot_is_never_declared_dead_by_timeout() -> None:
    """Its lease silent for ever, but its slot advancing: it is suspected and waited for."""
    clock = Clock(leader(0.0))
    clock.alive.discard("a")
    for seq in range(300):
        clock.step(observation("b", clock.beacon, reading("a", 0.5, seq=seq)))
    assert clock.dead() == []
    assert [d.host for d in clock.of(Suspected)] == ["a"]


def test_a_store_outage_for_every_lease_holder_declares_a_silent_host() -> None:
    """When every lease holder reports the store unreachable for T_dead (fresh), a host
    silent for T_dead is dead; one holder still reading the store is enough to wait."""
    clock = Clock(leader(0.0))
    clock.run_until(T_DEAD + 1)
    clock.alive.discard("a")
    for _ in range(int(T_DEAD) + 2):
        clock.step(
            observation("b", clock.beacon, unreachable=50.0),
            observation("c", clock.beacon, reading("b", 0.0)),
        )
    assert clock.dead() == []
    while not clock.dead():
        clock.step(
            observation("b", clock.beacon, unreachable=50.0),
            observation("c", clock.beacon, unreachable=40.0),
        )
    [dead] = clock.dead()
    assert dead.evidence.store_outage is not None
    assert dead.evidence.store_outage.reporters == ("b", "c")
    assert dead.evidence.store_outage.unreachable_for_s == 40.0


def test_a_dead_hosts_protected_vms_go_to_liveset_members_with_their_incarnation() -> None:
    """After a dies: web (protected) is ordered where the planner's restart placement puts it
    (c, the member with the most room: the packing spreads load), for that member's
    incarnation; db (unprotected) stays halted; orders repeat until confirmed."""
    clock = Clock(leader(0.0))
    clock.alive.discard("a")
    clock.arb.fenced_notice(FencedNotice(host="a", incarnation="a#1"), 0.5)
    clock.run_until(T_DEAD)
    [order] = clock.of(RestartOrdered)
    assert (order.vm, order.host, order.incarnation) == ("web", "c", "c#1")
    assert clock.arb.view.vms["db"].state == "halted"
    assert [(o.vm, o.host, o.incarnation) for o in clock.last.orders] == [("web", "c", "c#1")]
    hb = NetworkHeartbeat(
        host="c", incarnation="c#1", seq=1, lease_ok=True, store_ok=True, vms=("web",)
    )
    clock.arb.heartbeat(hb, clock.now + 0.5)
    clock.step()
    assert clock.of(VmRunning) == [VmRunning("web", "c", "c#1")]
    assert clock.last.orders == ()


def test_vms_go_only_to_liveset_members() -> None:
    """A suspected host (lease silent for more than T) gets no VM: web goes to c, not b."""
    clock = Clock(leader(0.0))
    clock.alive.discard("b")
    clock.run_until(T + 2)
    assert [d.host for d in clock.of(Suspected)] == ["b"]
    assert clock.arb.liveset(clock.now) == ("a", "c")
    clock.alive.discard("a")
    clock.arb.fenced_notice(FencedNotice(host="a", incarnation="a#1"), clock.now)
    clock.run_until(T_DEAD + 1)
    assert [(o.vm, o.host) for o in clock.of(RestartOrdered)] == [("web", "c")]


def test_a_host_declared_dead_loses_every_pending_order() -> None:
    """web is ordered on c; c dies before web runs: the order is void and web goes to b."""
    clock = Clock(leader(0.0))
    clock.alive.discard("a")
    clock.arb.fenced_notice(FencedNotice(host="a", incarnation="a#1"), 0.5)
    clock.run_until(T_DEAD)
    clock.alive.discard("c")
    clock.arb.fenced_notice(FencedNotice(host="c", incarnation="c#1"), clock.now + 0.5)
    clock.step()
    orders = clock.of(RestartOrdered)
    assert [(o.vm, o.host) for o in orders] == [("web", "c"), ("web", "b")]
    assert orders[0].order_id != orders[1].order_id
    assert {o.host for o in clock.last.orders} == {"b"}


def test_a_join_of_a_new_incarnation_fences_the_old_one_then_joins() -> None:
    """A restarted collector (a#2) asking to join says a#1 is gone: a#1 is marked fenced,
    declared dead by the fast path (after the warm-up), then a#2 joins and is accepted."""
    clock = Clock(leader(0.0))
    clock.alive.discard("a")
    clock.step()
    clock.arb.join_request(join("a", "a#2", clock.beacon), clock.now + 0.5)
    clock.step()
    assert [(d.host, d.mark.incarnation, d.mark.source) for d in clock.of(Fenced)] == [
        ("a", "a#1", "bus")
    ]
    while not clock.of(Joined):
        clock.arb.join_request(join("a", "a#2", clock.beacon), clock.now + 0.5)
        clock.step()
    assert [d.evidence.incarnation for d in clock.dead()] == ["a#1"]
    assert [(d.host, d.incarnation) for d in clock.of(Joined)] == [("a", "a#2")]
    assert [(m.host, m.incarnation) for m in clock.last.accepted] == [("a", "a#2")]


def test_a_later_incarnations_signed_slot_marks_the_earlier_one() -> None:
    """A reading of a#2's slot, signed by a and written after a beacon this leader sent, is a
    fenced mark for a#1 that carries a#2's record; the observer's own word that a#1's slot was
    overwritten (not current) is not."""
    clock = Clock(leader(0.0))
    clock.alive.discard("a")
    clock.step(observation("b", None, reading("a", 3.0, current=False)))
    assert clock.of(Fenced) == []
    later = reading("a", 0.0, inc="a#2", beacon=clock.beacon)
    clock.step(observation("b", clock.beacon, later))
    marks = clock.of(Fenced)
    assert [(m.mark.source, m.mark.observer, m.mark.incarnation) for m in marks] == [
        ("slot", "b", "a#1")
    ]
    assert marks[0].mark.record == later.record


def test_a_follower_ignores_inputs_and_decides_nothing() -> None:
    """Only the leader decides; losing the leadership stops it at once."""
    arb = Arbiter("arb", POOL, TIMERS)
    arb.fenced_notice(FencedNotice(host="a", incarnation="a#1"), 1.0)
    assert arb.tick(100.0).decisions == () and arb.tick(100.0).beacon is None
    arb.gain_leadership(0.0, 1, JOINED)
    arb.lose_leadership()
    assert arb.tick(200.0).decisions == ()


def test_a_new_leader_rebuilds_the_view_from_the_log() -> None:
    """Decisions appended by one leader are what the next one starts from; its volatile
    evidence (leases, marks) starts empty, so it declares nothing at once."""
    first = Clock(leader(0.0))
    first.alive.discard("a")
    first.arb.fenced_notice(FencedNotice(host="a", incarnation="a#1"), 0.5)
    first.run_until(T_DEAD)
    log = JOINED + first.decisions
    second = Arbiter("arb2", POOL, TIMERS)
    second.gain_leadership(500.0, 2, log)
    assert second.view == first.arb.view
    assert second.tick(501.0).decisions == ()


def test_an_incarnation_declared_dead_never_joins_again() -> None:
    """A join request a#1 sent just before it fenced, arriving after its declaration, is
    refused: only a new incarnation may bring the host back."""
    clock = Clock(leader(0.0))
    clock.alive.discard("a")
    clock.arb.fenced_notice(FencedNotice(host="a", incarnation="a#1"), 0.5)
    clock.run_until(T_DEAD)
    assert [d.evidence.incarnation for d in clock.dead()] == ["a#1"]
    clock.arb.join_request(join("a", "a#1", clock.beacon), clock.now + 0.5)
    clock.step()
    assert clock.of(Joined) == [] and clock.last.accepted == ()
    assert clock.arb.view.hosts["a"].dead
