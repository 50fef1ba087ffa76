"""Staleness is the observer's word, so the leader no longer takes it: what one hostile host
can do with its lies (faults `stale_liar` and `lease_liar`, services.sim.hostile).

A host cut from the bus normally fences after T; it stays only on the outage rule, when every
other advancing slot says its lease has expired (a global bus outage: no arbiter can restart
anything). Its lease is then silent for good while it stays. One hostile host X that keeps the
bus can lie both ways: its own slot says its lease expired (so Y, cut from the bus, stays), and
its observations say Y's slot is still. No signature can catch either lie: both are X's own
word. Under the old timeout rule (a fresh collector's reading of the slot still for T_dead)
the leader then declared Y dead and restarted Y's VMs on X while Y still ran them (the
mutation test in tests/sim/test_mutations.py puts that rule back and finds the split brain).
Now the leader judges stillness from its own reading of the store, on its own clock
(services.arbiter.stillness): Y's slot advances there, so Y is not declared dead. Each lie
alone is harmless, and the guard against mass suspicion stops the pair when more than one host
stays cut off.
"""

from __future__ import annotations

from services.arbiter.view import GuardOn
from services.common.timers import Timers
from services.sim.faults import Arbiters, Fault, Kind, Schedule
from services.sim.generate import lab_pool, uniform_pool
from tests.sim.helpers import Ran, simulate

T = 30.0
TIMERS = Timers.from_timeout(T)
START = TIMERS.t_dead_s + 0.37 * TIMERS.interval_s  # after the first leader's warm-up
LIES = (Kind.STALE_LIAR, Kind.LEASE_LIAR)


def liar_schedule(lies: tuple[Kind, ...], seed: int = 7) -> Schedule:
    """The lab pool, arbiters on a witness: lab2 tells `lies` from START on, and lab1 loses
    its bus link an interval later (lab2's slot already says what it says), until healed."""
    faults = [Fault(kind, START, None, ("lab2",)) for kind in lies]
    faults.append(Fault(Kind.BUS_LINK, START + TIMERS.interval_s, None, ("lab1",)))
    heal, end = START + 4 * TIMERS.t_dead_s, 4 * TIMERS.t_dead_s
    return Schedule(
        seed, lab_pool(T), Arbiters((), ("witness",)), tuple(faults), heal, heal + end, T
    )


def _fenced_at(ran: Ran, host: str) -> float | None:
    times = [t for t, k, s in ran.outcome.milestones if k in ("fence", "watchdog") and s == host]
    return min(times, default=None)


def _declared_at(ran: Ran, host: str) -> float | None:
    times = [t for t, k, s in ran.outcome.milestones if k == "dead" and s == host]
    return min(times, default=None)


def test_a_host_staying_on_the_outage_rule_is_not_declared_dead_on_one_observers_word() -> None:
    """lab2 keeps the bus and renews its lease, but its slot says its lease expired and its
    observations say lab1's slot is still. lab1, cut from the bus, sees only lease-less
    advancing slots and stays with Minion 1 (the outage rule); the leader finds lab1's lease
    silent for T_dead, but its own reading of the store shows lab1's slot advancing, so lab2's
    claim decides nothing: lab1 is never declared dead before it fences, and no invariant
    breaks (the old rule restarted Minion 1 on lab2 while lab1 ran it)."""
    ran = simulate(liar_schedule(LIES))
    declared, fenced = _declared_at(ran, "lab1"), _fenced_at(ran, "lab1")
    assert declared is None or (fenced is not None and fenced <= declared)
    assert ran.outcome.ok, ran.outcome.violations


def test_a_stale_liar_alone_gets_no_staying_host_declared_dead() -> None:
    """lab2 says lab1's slot is still, and its own slot honestly advertises its lease: lab1,
    cut from the bus, sees a lease holder and fences after T (the outage rule does not
    hold), before the leader declares it dead. No invariant breaks."""
    ran = simulate(liar_schedule((Kind.STALE_LIAR,)))
    assert ran.outcome.ok, ran.outcome.violations
    declared, fenced = _declared_at(ran, "lab1"), _fenced_at(ran, "lab1")
    assert declared is not None and fenced is not None and fenced <= declared


def test_a_lease_liar_alone_keeps_a_cut_off_host_staying_and_alive() -> None:
    """lab2's slot says its lease expired while it holds it: lab1, cut from the bus, stays on
    the outage rule with Minion 1, and the leader, whose own reading of the store shows lab1's
    slot advancing, does not declare it dead while the fault holds. No invariant breaks."""
    schedule = liar_schedule((Kind.LEASE_LIAR,))
    ran = simulate(schedule)
    assert ran.outcome.ok, ran.outcome.violations
    assert ran.fenced_hosts(before=schedule.heal_at) == set()
    declared = _declared_at(ran, "lab1")
    assert declared is None or declared > schedule.heal_at


def test_the_guard_stops_both_lies_when_two_hosts_stay_cut_off() -> None:
    """Three hosts: h2 lies both ways, h1 and h3 lose the bus together and stay on the outage
    rule. Both are suspected within T, more than half the members: the guard engages and holds
    every declaration on silence, so neither is declared dead while the fault holds. No
    invariant breaks."""
    faults = [Fault(kind, START, None, ("h2",)) for kind in LIES]
    faults.append(Fault(Kind.BUS_LINK, START + TIMERS.interval_s, None, ("h1", "h3")))
    heal = START + 4 * TIMERS.t_dead_s
    schedule = Schedule(
        7, uniform_pool(3, T), Arbiters((), ("witness",)), tuple(faults), heal, 2 * heal, T
    )
    ran = simulate(schedule)
    assert ran.outcome.ok, ran.outcome.violations
    assert any(isinstance(d, GuardOn) for d in ran.sim.log)
    for host in ("h1", "h3"):
        declared = _declared_at(ran, host)
        assert declared is None or declared > heal
