"""The guard rail against mass suspicion (services.arbiter.guard): the rule at its boundaries,
and the arbiter core holding declarations on silence (never those on a host's own word)."""

from __future__ import annotations

import pytest

from schemas.liveness import GuardEvidence, RecentSuspicion
from schemas.messages import FencedNotice
from schemas.pool import Pool
from services.arbiter.core import Arbiter
from services.arbiter.guard import (
    Suspicions,
    engage_evidence,
    engage_holds,
    guard_step,
    release_evidence,
    release_holds,
)
from services.arbiter.record import decisions_of, to_event
from services.arbiter.view import DeclaredDead, GuardOff, GuardOn, replay
from tests.fixtures.events import T0
from tests.unit.arbiter.helpers import JOINED, POOL, T_DEAD, TIMERS, Clock, T, observation, reading


def _hosts(n: int) -> frozenset[str]:
    return frozenset(f"h{i}" for i in range(1, n + 1))


def _at(now: float, **ago: float) -> Suspicions:
    return Suspicions(_hosts(3), frozenset(ago), {h: now - a for h, a in ago.items()})


@pytest.mark.parametrize(
    ("members", "suspects", "share", "engages"),
    [
        (2, 1, 0.5, False),  # 1 of 2 is not more than half: a 2-host pool's failure goes on
        (2, 2, 0.5, True),
        (3, 1, 0.5, False),
        (3, 2, 0.5, True),  # 2 of 3 is more than half
        (4, 2, 0.5, False),  # exactly half is not more than half
        (4, 3, 0.5, True),
        (3, 3, 1.0, False),  # a share of 1.0 switches the guard off
        (3, 1, 0.3, False),  # one silent host is never a mass suspicion...
        (1, 1, 0.5, False),  # ... even as the last member left
        (5, 2, 0.3, True),
    ],
)
def test_the_guard_engages_on_more_than_the_share(
    members: int, suspects: int, share: float, engages: bool
) -> None:
    """Engage exactly when two or more hosts, and more than share x members, became
    suspect within T."""
    hosts = sorted(_hosts(members))
    s = Suspicions(frozenset(hosts), frozenset(hosts[:suspects]), dict.fromkeys(hosts, 100.0))
    assert (guard_step(s, False, 100.0 + T / 2, T, share) == "engage") is engages


def test_only_suspicions_within_one_T_engage_the_guard() -> None:
    """Two hosts suspected T apart are two failures in a row, not one mass suspicion; a
    suspicion without a time (replayed from the log) does not engage it either."""
    now = 500.0
    assert guard_step(_at(now, h1=0.0, h2=T), False, now, T, 0.5) == "engage"
    assert guard_step(_at(now, h1=0.0, h2=T + 0.01), False, now, T, 0.5) is None
    untimed = Suspicions(_hosts(3), frozenset({"h1", "h2"}), {"h1": now})
    assert guard_step(untimed, False, now, T, 0.5) is None


def test_the_guard_releases_when_the_suspects_are_no_more_than_the_share() -> None:
    """Engaged, it holds while the suspects (timed or not) stay more than the share, however
    old their suspicions, and releases once they are not."""
    now = 900.0
    old = Suspicions(_hosts(3), frozenset({"h1", "h2"}), {})
    assert guard_step(old, True, now, T, 0.5) is None
    one_left = Suspicions(_hosts(3), frozenset({"h2"}), {})
    assert guard_step(one_left, True, now, T, 0.5) == "release"
    one_dead = Suspicions(frozenset({"h2", "h3"}), frozenset({"h2"}), {})  # h1 declared dead
    assert guard_step(one_dead, True, now, T, 0.5) == "release"
    last = Suspicions(frozenset({"h2"}), frozenset({"h2"}), {})  # a 2-host pool, h1 dead
    assert guard_step(last, True, now, T, 0.5) == "release"


def test_recorded_evidence_is_rechecked_from_itself() -> None:
    """What the arbiter records passes the audit's re-check; evidence that does not exceed
    the share, names a host twice, or a suspicion older than T does not."""
    s = _at(10.0, h1=1.0, h2=2.0)
    e = engage_evidence(s, 10.0, T, 0.5)
    assert engage_holds(e, T) and [r.host for r in e.recent] == ["h1", "h2"]
    assert release_holds(release_evidence(Suspicions(_hosts(3), frozenset({"h1"}), {}), 0.5))
    assert not release_holds(release_evidence(_at(10.0, h1=1.0, h2=2.0), 0.5))
    one = RecentSuspicion(host="h1", suspected_for_s=1.0)
    twice = GuardEvidence(recent=(one, one), members=3, share=0.5, timeout_s=T)
    assert not engage_holds(twice, T)
    late = RecentSuspicion(host="h2", suspected_for_s=T + 1)
    assert not engage_holds(GuardEvidence(recent=(one, late), members=3, share=0.5, timeout_s=T), T)
    assert not engage_holds(GuardEvidence(recent=(one,), members=3, share=0.5, timeout_s=T), T)


def _silence(clock: Clock, hosts: set[str]) -> float:
    clock.run_until(T_DEAD + 1)
    clock.alive -= hosts
    return clock.now


def _stale_readings(clock: Clock, since: float, *hosts: str) -> None:
    still = clock.now - since
    clock.step(observation("c", clock.beacon, *(reading(h, still, seq=9) for h in hosts)))


def test_two_of_three_silent_hosts_engage_the_guard_and_are_not_declared_on_silence() -> None:
    """a and b go silent together (the arbiter hears only c): both are suspected, the guard
    engages with both as evidence, and no timeout declaration follows, however long the
    silence and however stale their slots read."""
    clock = Clock(Arbiter("arb", POOL, TIMERS))
    clock.arb.gain_leadership(0.0, 1, JOINED)
    since = _silence(clock, {"a", "b"})
    for _ in range(int(3 * T_DEAD)):
        _stale_readings(clock, since, "a", "b")
    [on] = clock.of(GuardOn)
    assert isinstance(on, GuardOn)
    assert {r.host for r in on.evidence.recent} == {"a", "b"} and on.evidence.members == 3
    assert engage_holds(on.evidence, T)
    assert clock.dead() == [] and clock.arb.view.guarded
    assert all(o.host == "c" for o in clock.last.orders)  # nothing of a's or b's restarted


def test_the_same_silence_without_the_guard_declares_both_dead_on_timeout() -> None:
    """The control: with the guard switched off (share 1.0) the same inputs declare a and b
    dead by timeout, which is what the guard holds."""
    ha = POOL.ha.model_copy(update={"mass_suspicion_share": 1.0})
    clock = Clock(Arbiter("arb", Pool.model_validate({**POOL.model_dump(), "ha": ha}), TIMERS))
    clock.arb.gain_leadership(0.0, 1, JOINED)
    since = _silence(clock, {"a", "b"})
    while len(clock.dead()) < 2:
        _stale_readings(clock, since, "a", "b")
        assert clock.now < since + T_DEAD + 3
    assert {d.evidence.rule for d in clock.dead()} == {"timeout"} and not clock.of(GuardOn)


def test_own_word_declares_while_the_guard_holds_and_then_it_releases() -> None:
    """While engaged, a's own fenced notice still declares it dead (its VMs are confirmed
    dead, and its protected VM is restarted on c); with a dead, 1 suspect of 2 members is not
    more than half: the guard releases and b's silence is judged again (timeout)."""
    clock = Clock(Arbiter("arb", POOL, TIMERS))
    clock.arb.gain_leadership(0.0, 1, JOINED)
    since = _silence(clock, {"a", "b"})
    while not clock.of(GuardOn):
        _stale_readings(clock, since, "a", "b")
    clock.arb.fenced_notice(FencedNotice(host="a", incarnation="a#1"), clock.now)
    _stale_readings(clock, since, "a", "b")
    assert [(d.host, d.evidence.rule) for d in clock.dead()] == [("a", "fenced")]
    assert any(o.vm == "web" and o.host == "c" for o in clock.last.orders)
    _stale_readings(clock, since, "a", "b")
    [off] = clock.of(GuardOff)
    assert isinstance(off, GuardOff) and release_holds(off.evidence)
    assert off.evidence.suspects == ("b",) and off.evidence.members == 2
    while len(clock.dead()) < 2:
        _stale_readings(clock, since, "b")
        assert clock.now < since + 3 * T_DEAD
    assert clock.dead()[1].host == "b" and clock.dead()[1].evidence.rule == "timeout"


def test_the_guard_releases_when_the_hosts_come_back() -> None:
    """a and b renew their leases again: they rejoin and the guard releases on its own."""
    clock = Clock(Arbiter("arb", POOL, TIMERS))
    clock.arb.gain_leadership(0.0, 1, JOINED)
    since = _silence(clock, {"a", "b"})
    while not clock.of(GuardOn):
        _stale_readings(clock, since, "a", "b")
    clock.alive |= {"a", "b"}
    clock.step()
    clock.step()
    assert clock.of(GuardOff) and not clock.arb.view.guarded and clock.dead() == []


def test_a_new_leader_keeps_the_guard_from_the_log_and_weighs_replayed_suspects() -> None:
    """The guard is in the log: a new leader replays it engaged and declares nobody on
    silence. A new leader whose log has a and b suspected but no guard finds them silent
    together and engages it before T_dead."""
    clock = Clock(Arbiter("arb", POOL, TIMERS))
    clock.arb.gain_leadership(0.0, 1, JOINED)
    since = _silence(clock, {"a", "b"})
    while not clock.of(GuardOn):
        _stale_readings(clock, since, "a", "b")
    log = [*JOINED, *clock.decisions]
    events = [to_event(d, epoch=1, at=T0, event_id=f"{i:08x}-0000-4000-8000-000000000000")
              for i, d in enumerate(clock.decisions)]  # fmt: skip
    assert decisions_of(events) == clock.decisions  # the guard survives the round trip
    assert replay(POOL, log).guarded
    for unguarded in (False, True):
        heir = Clock(Arbiter("heir", POOL, TIMERS), start=clock.now)
        heir.alive -= {"a", "b"}
        kept = [d for d in log if not isinstance(d, GuardOn)] if unguarded else log
        heir.arb.gain_leadership(clock.now, 2, kept)
        for _ in range(int(3 * T_DEAD)):
            _stale_readings(heir, since, "a", "b")
        assert heir.dead() == [], f"declared with the guard {'re-engaged' if unguarded else 'kept'}"
        assert bool(heir.of(GuardOn)) is unguarded


def test_a_single_silent_host_is_declared_as_before() -> None:
    """1 of 3 silent is no mass suspicion: no guard, and the timeout rule declares it."""
    clock = Clock(Arbiter("arb", POOL, TIMERS))
    clock.arb.gain_leadership(0.0, 1, JOINED)
    since = _silence(clock, {"a"})
    while not clock.dead():
        _stale_readings(clock, since, "a")
        assert clock.now < since + T_DEAD + 3
    assert not clock.of(GuardOn) and clock.dead()[0].evidence.rule == "timeout"
    assert not any(isinstance(d, DeclaredDead) and d.host != "a" for d in clock.decisions)
