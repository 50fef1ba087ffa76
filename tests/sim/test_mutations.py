"""The simulator must be able to fail: deliberately broken tables and timers plugged into it are
caught, with a seed, a shrunk schedule and a trace that reproduce the violation."""

from __future__ import annotations

import dataclasses

import pytest

from schemas.liveness import DeadEvidence
from schemas.messages import SlotReading
from schemas.slot import Slot
from services.arbiter.orchestrate import Orchestrator
from services.arbiter.rules import DEAD_RULES, DeadRule
from services.arbiter.view import LivenessView
from services.collector.core import Collector, FenceMark
from services.collector.table import FENCE_TABLE, Row, StaysOnlyIf
from services.common.timers import Timers
from services.sim.batch import Variant, exhaustive_batch, random_batch, run_schedules
from services.sim.engine import Sim
from services.sim.faults import Arbiters, Fault, Kind, Schedule
from services.sim.generate import lab_pool, single_fault, uniform_pool
from services.sim.shrink import shrink
from services.sim.world import HostSim
from tests.sim.helpers import simulate
from tests.sim.test_forged_joins import forged_join_schedule
from tests.sim.test_lying_observer import LIES, liar_schedule
from tests.sim.test_outage_end import OUTAGE_AT, OUTAGE_END, POOL
from tests.sim.test_start_delay import DELAY, slow_host
from tests.sim.test_start_delay import T as T_START


def _table(key: tuple[bool, bool], stays: StaysOnlyIf) -> dict[tuple[bool, bool], Row]:
    table = dict(FENCE_TABLE)
    table[key] = Row(stays, table[key].otherwise or "broken on purpose")
    return table


# A host that lost the bus but still reaches the store stays whatever its peers' slots say.
NO_BUS_STAYS = Variant(table=_table((False, True), StaysOnlyIf.ALWAYS))
# A host with the quorum and the store fences.
HEALTHY_FENCES = Variant(table=_table((True, True), StaysOnlyIf.NEVER))


def unchecked_word(key: str | None, reading: SlotReading) -> Slot | str:
    """The arbiter reads a host's slot record without checking its signature (module level:
    worker processes receive it by name)."""
    if reading.record is None:
        return "no signed record"
    return Slot.model_validate_json(reading.record.body)


# The arbiter believes any forwarded slot record, signed by whoever.
UNSIGNED = Variant(testimony=unchecked_word)


class StillForTMinusIIsGone(Collector):
    """The outage rule with a looser threshold: a slot still for T minus one interval (not
    T_dead) counts as a host that has fenced or died."""

    def _gone_after_s(self) -> float:
        return self.timers.timeout_s - self.timers.interval_s


LOOSE_OUTAGE = Variant(collector=StillForTMinusIIsGone)
# The arbiter may declare a host dead before its watchdog has fired.
EARLY_T_DEAD = Variant(timers=dataclasses.replace(Timers.from_timeout(30.0), t_dead_s=27.0))


class PrematureMark(Sim):
    """A collector shell that writes the fenced mark before its kills are confirmed."""

    def _fence_mark(self, h: HostSim, c: Collector, confirmed: bool) -> FenceMark | None:
        return c.vms_dead(self.now + h.offset)


PREMATURE_MARK = Variant(sim=PrematureMark)


def test_a_table_that_keeps_a_host_without_the_bus_is_caught_as_a_split_brain() -> None:
    """The exhaustive 2-host grid finds the double run (invariant 1): h1 loses the bus while
    h2 loses the store, the broken h1 stays, and the arbiter restarts its VM on h2."""
    summary = exhaustive_batch(2, 30.0, workers=2, variant=NO_BUS_STAYS)
    assert summary.violations > 0
    first = summary.first
    assert first is not None and first.violation.invariant == 1
    kinds = sorted(f.kind for f in first.shrunk.faults)
    assert kinds == sorted([Kind.BUS_LINK, Kind.STORE_LINK])
    assert first.shrunk_violation.invariant == 1
    assert first.trace[-1].endswith(first.shrunk_violation.describe())


def test_a_table_that_fences_healthy_hosts_is_caught() -> None:
    """Invariant 3 catches it on the first random schedule, whatever the faults."""
    summary = random_batch(1, 20, None, 30.0, workers=1, variant=HEALTHY_FENCES)
    assert summary.violations == 20
    assert summary.first is not None and summary.first.violation.invariant == 3
    assert summary.first.schedule.seed == 1


def test_a_t_dead_shorter_than_the_watchdog_deadline_is_caught() -> None:
    """With T_dead below T, a hung host is declared dead while its VMs still run: the
    restart elsewhere is a split brain."""
    pool = uniform_pool(2, 30.0)
    hang = Schedule(
        3,
        pool,
        Arbiters(("h2",)),
        (Fault(Kind.HANG, 43.0, None, ("h1",)),),
        heal_at=126.0,
        end_at=294.0,
        timeout_s=30.0,
    )
    summary = run_schedules([hang], mode="random", seed=3, workers=1, variant=EARLY_T_DEAD)
    assert summary.violations == 1
    assert summary.first is not None and summary.first.violation.invariant == 1
    assert Variant().run(hang).ok  # the real timers are safe on the same schedule


def test_shrinking_drops_the_faults_that_do_not_matter() -> None:
    """A failing schedule padded with irrelevant faults shrinks back to the faults that make
    it fail; the shrunk schedule fails again, the same way, when run again."""
    pool = uniform_pool(3, 30.0)
    core = (
        Fault(Kind.BUS_LINK, 43.0, None, ("h1",)),
        Fault(Kind.STORE_LINK, 43.0, None, ("h2", "h3")),
    )
    noise = (
        Fault(Kind.DUPLICATION, 5.0, 20.0, ("*",), 0.3),
        Fault(Kind.LEADER_CHANGE, 10.0),
        Fault(Kind.DELAY, 15.0, 30.0, ("h3",), 0.5),
        Fault(Kind.ARBITER_CRASH, 150.0, 160.0, ("arbiter@h3",)),
    )
    padded = Schedule(
        9,
        pool,
        Arbiters(("h2", "h3")),
        noise[:2] + core + noise[2:],
        heal_at=200.0,
        end_at=380.0,
        timeout_s=30.0,
    )
    original = NO_BUS_STAYS.run(padded, trace=True)
    assert not original.ok
    shrunk, outcome = shrink(padded, lambda s: NO_BUS_STAYS.run(s, trace=True))
    assert set(shrunk.faults) <= set(padded.faults)
    assert len(shrunk.faults) < len(padded.faults)
    assert set(core) <= set(shrunk.faults)
    assert not outcome.ok and len(outcome.trace) <= len(original.trace)
    again = NO_BUS_STAYS.run(shrunk, trace=True)
    assert again.violations == outcome.violations and again.trace == outcome.trace


def test_an_arbiter_that_never_declares_anyone_dead_is_caught_by_the_restart_deadline() -> None:
    """With no dead rule at all, lab1's power loss leaves Minion 1 down: invariant 2 fires at
    the restart deadline (T_dead + restart time after the kill), not only at the end."""
    schedule = single_fault(lab_pool(30.0), Kind.POWER, ("lab1",), arbiters=Arbiters(("lab2",)))
    outcome = Sim(schedule, rules=()).run()
    [violation] = outcome.violations
    assert violation.invariant == 2 and "Minion 1" in violation.what
    assert violation.at < schedule.heal_at
    assert Sim(schedule).run().ok


def test_an_arbiter_that_does_not_check_signatures_is_caught_as_a_split_brain() -> None:
    """lab2 hostile in the lab pool: with signatures unchecked, its forged fenced mark of lab1
    (signed with lab2's key) declares the healthy lab1 dead and Minion 1 starts on lab2 while
    lab1 still runs it (invariant 1). Checked, the same schedule holds."""
    hostile = single_fault(lab_pool(30.0), Kind.HOSTILE, ("lab2",), arbiters=Arbiters(("lab2",)))
    summary = run_schedules([hostile], mode="random", seed=0, workers=1, variant=UNSIGNED)
    assert summary.violations == 1
    assert summary.first is not None and summary.first.violation.invariant == 1
    assert [f.kind for f in summary.first.shrunk.faults] == [Kind.HOSTILE]
    assert Variant().run(hostile).ok


def test_an_outage_rule_that_takes_a_slot_still_for_less_than_t_dead_for_dead_is_caught() -> None:
    """h1 loses the bus; an interval later h2 and h3, which keep the bus, lose the store (each
    hears only the other, which lost it too, so both stay). With a still slot taken for a dead
    host after T - I, h1 takes their frozen slots for dead hosts and stays without the bus;
    the arbiter declares h1 dead (every lease holder lost the store for T_dead) and restarts
    its VM on h2 while it still runs on h1: a split brain. The real rule (T_dead) fences h1."""
    t = Timers.from_timeout(30.0)
    start = t.t_dead_s + 0.37 * t.interval_s
    schedule = Schedule(
        5,
        uniform_pool(3, 30.0),
        Arbiters(("h2", "h3")),
        (
            Fault(Kind.BUS_LINK, start, None, ("h1",)),
            Fault(Kind.STORE_LINK, start + t.interval_s, None, ("h2", "h3")),
        ),
        heal_at=126.0,
        end_at=294.0,
        timeout_s=30.0,
    )
    summary = run_schedules([schedule], mode="random", seed=5, workers=1, variant=LOOSE_OUTAGE)
    assert summary.violations == 1
    assert summary.first is not None and summary.first.violation.invariant == 1
    assert "vm1" in summary.first.violation.what
    assert Variant().run(schedule).ok


def test_a_fenced_mark_before_the_kill_is_confirmed_is_caught_as_a_split_brain() -> None:
    """The exhaustive 2-host grid with stuck kills, and a shell that marks fenced as soon as
    it decides to fence: a host whose kill is stuck says fenced, the arbiter's fast path
    restarts its VM elsewhere while it still runs (invariant 1). The shrunk schedule keeps
    the stuck kill and a fault that makes the host fence; the real shell passes it."""
    summary = exhaustive_batch(2, 30.0, ("stuck",), workers=2, variant=PREMATURE_MARK)
    assert summary.violations > 0
    first = summary.first
    assert first is not None and first.violation.invariant == 1
    kinds = {f.kind for f in first.shrunk.faults}
    assert Kind.STUCK_KILL in kinds and kinds & {Kind.BUS_LINK, Kind.STORE_LINK}
    assert first.shrunk_violation.invariant == 1
    assert any("the kill of" in line and "is stuck" in line for line in first.trace)
    assert Variant().run(first.shrunk).ok


def test_an_arbiter_that_takes_any_join_request_is_caught_as_a_split_brain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The join rule before signed joins: the leader takes any join request on a host's join
    subject. h1, a join forger, asks a new incarnation of h2 and h3 in: the leader marks their
    live incarnations fenced, declares them dead in the same tick and restarts vm2 and vm3 on
    h1 while they still run (invariant 1). The shrunk schedule is the forger alone; the real
    rule holds on the same schedule (tests/sim/test_forged_joins.py)."""
    schedule = forged_join_schedule()
    monkeypatch.setattr("services.arbiter.core.join_problem", lambda *_: None)
    summary = run_schedules([schedule], mode="random", seed=11, workers=1)
    assert summary.violations == 1
    assert summary.first is not None and summary.first.violation.invariant == 1
    assert "started on h1 while it runs on" in summary.first.violation.what
    assert [f.kind for f in summary.first.shrunk.faults] == [Kind.JOIN_FORGER]
    monkeypatch.undo()
    assert Variant().run(schedule).ok


def _closed_without_late_delays(self: Orchestrator, view: LivenessView, now: float) -> bool:
    """The group rule before b8e041b: only the VMs reported running hold the next group."""
    group = self.group
    if group is None:
        return True
    states = [view.vms[n] for n in group.vms if n in view.vms]
    if any(v.state == "ordered" for v in states) and now - group.ordered_at < self.timers.timeout_s:
        return False
    started = [v.spec.start_delay_s for v in states if v.state == "running"]
    self.next_group_at = now + max(started, default=0.0)
    self.group = None
    return True


def test_an_order_group_that_closes_without_its_late_starts_delay_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The simulator sees the old start-delay rule: with h2 taking its orders T + 2 s late,
    the first group closes at T with its start unreported and the next group goes at once,
    DELAY too early; the scenario's assertion (tests/sim/test_start_delay.py, which no
    invariant covers) fails on the same run, and holds again with the real rule."""
    schedule = slow_host(T_START + 2.0)
    monkeypatch.setattr(Orchestrator, "_group_done", _closed_without_late_delays)
    ran = simulate(schedule)
    assert ran.outcome.ok
    reported = next(t for t, k, s in ran.outcome.milestones if (k, s) == ("reported", "first"))
    second = next(t for t, k, s in ran.outcome.milestones if (k, s) == ("ordered", "second"))
    assert second < reported  # ordered before the first group's start was even reported
    monkeypatch.undo()
    ran = simulate(schedule)
    reported = next(t for t, k, s in ran.outcome.milestones if (k, s) == ("reported", "first"))
    second = next(t for t, k, s in ran.outcome.milestones if (k, s) == ("ordered", "second"))
    assert second >= reported + DELAY - 1e-9


class EndlessGrace(Collector):
    """The end-of-outage grace without its bound: once the outage rule has held, a host
    whose lease is stale stays for as long as only its peers' advertised leases say
    otherwise."""

    def _outage_grace_s(self) -> float:
        return float("inf")


def test_an_unbounded_grace_after_an_outage_keeps_a_cut_host_for_good() -> None:
    """After an outage of the quorum for 1.5 T, h1's bus stays cut while h2 renews. The real
    grace fences h1 within a few intervals (its VM is restarted on h2); the unbounded one
    keeps h1 running its VM without the bus until the final heal. No invariant breaks (the
    VM runs once, on h1), so the scenario's own assertion, h1 fences, is what catches it
    (`tests/sim/test_outage_end.py`)."""
    t = Timers.from_timeout(30.0)
    faults = (
        Fault(Kind.QUORUM, OUTAGE_AT, OUTAGE_END),
        Fault(Kind.BUS_LINK, OUTAGE_AT, None, ("h1",)),
    )
    heal = OUTAGE_END + 2 * t.t_dead_s
    schedule = Schedule(14, POOL, Arbiters(("h1", "h2")), faults, heal, heal + 4 * t.t_dead_s, 30.0)

    def h1_fenced_before_heal(sim: Sim) -> bool:
        sim.run()
        return any(k == "fence" and s == "h1" and at < heal for at, k, s in sim.milestones)

    assert h1_fenced_before_heal(Sim(schedule))
    assert not h1_fenced_before_heal(Sim(schedule, collector=EndlessGrace))


def _collectors_word(evidence: DeadEvidence, t_dead: float) -> bool:
    """The timeout rule as it was: the leader's own reading of the store is set aside, and a
    fresh collector's claim that the slot is still (or that every lease holder lost the
    store) decides."""
    old = DEAD_RULES[1].holds
    return old(evidence.model_copy(update={"own_store": None}), t_dead)


COLLECTORS_WORD = (DEAD_RULES[0], DeadRule("timeout", "a collector's word", _collectors_word))


def test_a_leader_that_takes_a_collectors_stillness_claim_is_caught_as_a_split_brain() -> None:
    """With the timeout rule taking a collector's "still" claim again, the lying observer's
    scenario (lab2 says its lease expired and lab1's slot is still; lab1, cut from the bus,
    stays with Minion 1) ends with lab1 declared dead while it runs Minion 1, and Minion 1
    restarted on lab2: invariant 1 breaks. The real rule (the leader's own reading) passes the
    same schedule (tests/sim/test_lying_observer.py)."""
    schedule = liar_schedule(LIES)
    outcome = Sim(schedule, rules=COLLECTORS_WORD).run()
    assert not outcome.ok
    assert any("Minion 1" in v.describe() for v in outcome.violations), outcome.violations
    assert any("WHILE IT STILL RUNS" in line for line in outcome.trace)
    assert Sim(schedule).run().ok
