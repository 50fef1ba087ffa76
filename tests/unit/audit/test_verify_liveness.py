"""verify on liveness decisions: the arbiter core's rules on the recorded evidence with the
pool's timers as replayed, and each decision against the host's replayed state."""

from __future__ import annotations

from schemas.events import (
    HADisabled,
    HAEnabled,
    HostDeclaredDead,
    HostExcluded,
    HostFenced,
    HostRejoined,
    HostSuspected,
)
from schemas.liveness import DeadEvidence, StoreOutage
from services.audit import verify
from services.common.timers import Timers
from tests.fixtures.events import slot_mark
from tests.unit.audit.logs import (
    LAB_TIMERS,
    LogBuilder,
    failover_log,
    fenced_evidence,
    prefix,
    suspect_evidence,
    tampered,
    timeout_evidence,
)


def problems(entries: list, seq: int) -> list[str]:  # type: ignore[type-arg]
    return [f.problem for f in verify(entries).differences if f.seq == seq]


def test_the_article_experiments_agree() -> None:
    """Power loss (timeout rule, slot stale) and a fenced host (fast path) both verify."""
    for log in (failover_log(), failover_log(fenced=True)):
        report = verify(log.entries)
        assert report.ok and not report.unconfirmed
        assert report.checked["host_declared_dead"] == 1


def test_the_timeout_rule_needs_t_dead_of_silence_on_lease_and_slot() -> None:
    """A lease or a slot silent for less than T_dead (42 s for T = 30 s), a leader that has
    not led for T_dead, or a T_dead shorter than the pool's: the rule does not hold."""
    t_dead = LAB_TIMERS.t_dead_s
    short_lease = timeout_evidence().model_copy(update={"lease_silent_for_s": t_dead - 1})
    assert problems(tampered(failover_log().entries, 6, evidence=short_lease), 6) == [
        "the arbiter's rule 'timeout' does not hold on the recorded evidence (lease silent for "
        "41 s, leader for 600 s, T_dead 42 s) with the pool's timers (T 30 s, T_dead 42 s)"
    ]
    ev = timeout_evidence()
    assert ev.slot_stale is not None
    short_slot = ev.model_copy(
        update={"slot_stale": ev.slot_stale.model_copy(update={"stale_for_s": 10.0})}
    )
    new_leader = ev.model_copy(update={"leader_for_s": 5.0})
    short_t_dead = ev.model_copy(update={"t_dead_s": 10.0})
    for bad in (short_slot, new_leader, short_t_dead):
        assert len(problems(tampered(failover_log().entries, 6, evidence=bad), 6)) == 1


def test_a_store_outage_of_every_lease_holder_is_evidence_too() -> None:
    """Timeout with every lease holder reporting the store unreachable for T_dead agrees."""
    silent = LAB_TIMERS.t_dead_s + 2
    outage = DeadEvidence(
        rule="timeout", incarnation="boot-1", t_dead_s=LAB_TIMERS.t_dead_s, leader_for_s=900,
        lease_silent_for_s=silent,
        store_outage=StoreOutage(reporters=("lab2",), unreachable_for_s=silent),
    )  # fmt: skip
    assert verify(tampered(failover_log().entries, 6, evidence=outage)).ok


def test_timers_follow_the_pools_timeout_as_replayed() -> None:
    """After HA is enabled with T = 5 s, a death after 7 s (T_dead 7 s) agrees, and a
    suspicion after 6 s too; the same evidence under T = 30 s would not."""
    timers = Timers.from_timeout(5.0)
    log = prefix(failover_log(), 3)
    log.add(HAEnabled, epoch=0, timeout_s=5.0)
    log.add(HostSuspected, host="lab1", evidence=suspect_evidence("boot-1", silent=6.0)
            .model_copy(update={"timeout_s": 5.0}))  # fmt: skip
    fast = timeout_evidence(silent=timers.t_dead_s).model_copy(update={"t_dead_s": timers.t_dead_s})
    log.add(HostDeclaredDead, host="lab1", evidence=fast)
    assert verify(log.entries).ok
    slow = list(log.entries[:3]) + [e._replace(seq=e.seq - 1) for e in log.entries[4:]]
    assert sorted({f.seq for f in verify(slow).differences}) == [4, 5]


def test_decisions_about_hosts_in_the_wrong_state_differ() -> None:
    """Suspecting a dead or already suspected host (a fenced one is still judged, as the
    arbiter does), declaring an excluded or dead host dead,
    or while HA is off, rejoining a host that was not suspected, fencing a dead host."""
    dead = failover_log()  # lab1 dead at 6
    dead.add(HostSuspected, host="lab1", evidence=suspect_evidence())
    assert problems(dead.entries, 10) == [
        "host lab1 is dead: only a live or fenced host is suspected"
    ]
    again = prefix(failover_log(), 5)
    again.add(HostSuspected, host="lab1", evidence=suspect_evidence(silent=33.0))
    assert problems(again.entries, 6) == [
        "host lab1 is suspected: only a live or fenced host is suspected"
    ]

    excluded = prefix(failover_log(), 3)
    excluded.add(HostExcluded, epoch=0, host="lab1", reason="maintenance")
    excluded.add(HostDeclaredDead, host="lab1", evidence=timeout_evidence())
    assert problems(excluded.entries, 5) == ["host lab1 is excluded: its silence is no failure"]
    twice = failover_log()
    twice.add(HostDeclaredDead, host="lab1", evidence=timeout_evidence())
    assert problems(twice.entries, 10) == ["host lab1 is already dead"]
    off = prefix(failover_log(), 3)
    off.add(HADisabled, epoch=0)
    off.add(HostDeclaredDead, host="lab1", evidence=timeout_evidence())
    assert problems(off.entries, 5) == [
        "HA is disabled: no host is declared dead until it is enabled again"
    ]

    rejoin = prefix(failover_log(), 3)
    rejoin.add(HostRejoined, host="lab1", incarnation="boot-1")
    assert problems(rejoin.entries, 4) == ["host lab1 is live: only a suspected host rejoins"]
    fenced = failover_log()
    fenced.add(HostFenced, host="lab1",
               mark=slot_mark())  # fmt: skip
    assert problems(fenced.entries, 10) == ["host lab1 is already dead"]


def test_decisions_about_another_incarnation_or_host_differ() -> None:
    """Evidence about a previous incarnation, and a host the pool does not have."""
    old = tampered(failover_log(fenced=True).entries, 7, evidence=fenced_evidence("boot-0"))
    assert problems(old, 7) == [
        "the evidence is about incarnation boot-0, but the host's current incarnation is boot-1"
    ]
    ghost = LogBuilder()
    ghost.entries = failover_log().entries[:3]
    ghost.add(HostSuspected, host="lab9", evidence=suspect_evidence())
    assert problems(ghost.entries, 4) == ["host lab9 is not in the pool"]


def test_a_fenced_host_is_still_judged() -> None:
    """The arbiter keeps judging a fenced incarnation until it is dead: a suspicion after the
    fenced mark agrees."""
    log = prefix(failover_log(fenced=True), 3)
    log.add(HostFenced, host="lab1",
            mark=slot_mark())  # fmt: skip
    log.add(HostSuspected, host="lab1", evidence=suspect_evidence())
    log.add(HostDeclaredDead, host="lab1", evidence=fenced_evidence())
    assert verify(log.entries).ok


def test_verify_re_runs_the_arbiter_cores_own_rules() -> None:
    """The declaration re-check is the arbiter's rule_holds itself; the suspicion re-check
    agrees with the arbiter's SUSPICION table for a host that is not yet suspected."""
    from services.arbiter import SUSPICION, rule_holds
    from services.audit import load_rules

    rules = load_rules()
    assert rules.dead is rule_holds
    assert rules.suspect is not None
    for silent in (29.0, 30.0, 30.5, 400.0):
        evidence = suspect_evidence(silent=silent)
        expected = SUSPICION[(False, silent > LAB_TIMERS.timeout_s, True)] == "suspect"
        assert rules.suspect(evidence, LAB_TIMERS) is expected
