"""verify on a log holding every kind of decision: it agrees with the untouched log and
names the decision when any one of them is tampered with."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.liveness import DeadEvidence, FencedMark
from services.audit import ArbiterRules, verify
from tests.unit.audit.logs import (
    LogBuilder,
    every_decision_log,
    failover_log,
    fenced_evidence,
    prefix,
    suspect_evidence,
    tampered,
)

DECISIONS = {
    "plan_computed": 2, "pool_overcommitted": 1, "plan_restored": 1, "host_suspected": 2,
    "host_rejoined": 1, "host_fenced": 1, "host_declared_dead": 1, "vm_unplaceable": 1,
    "vm_restart_ordered": 1, "vm_started": 1, "host_joined": 2,
}  # fmt: skip


def flagged(log: list[Any]) -> list[int]:
    return sorted({f.seq for f in verify(log).differences})


def test_every_decision_of_the_untouched_log_would_be_made_again() -> None:
    """Each checked kind of decision is re-checked, none differs and none is left
    unconfirmed: the arbiter core's rules and the planner re-ran on all of them."""
    report = verify(every_decision_log().entries)
    assert report.checked == DECISIONS
    assert report.differences == []
    assert report.unconfirmed == []
    assert report.ok and report.events == 17 and report.last_seq == 17


def _dead(**changes: Any) -> DeadEvidence:
    return fenced_evidence("boot-1").model_copy(update=changes)


TAMPERINGS: list[tuple[int, dict[str, Any], str]] = [
    (4, {"max_host_failures_to_tolerate": 1, "upper_bound": 1, "worst_failure_set": None},
     "max host failures to tolerate: records 1, the replayed planner gives 0"),
    (4, {"worst_failure_set": ("h1", "h2")}, "the worst failure set has 2 hosts"),
    (9, {"host_failures_to_tolerate": 1}, "records host_failures_to_tolerate 1, the pool had 0"),
    (5, {"max_host_failures_to_tolerate": 1}, "the plan it cites (sequence 4) says 0"),
    (6, {"evidence": suspect_evidence("boot-1", silent=12.0)},
     "suspicion rule does not hold: lease silent for 12 s, the pool's T is 30 s"),
    (7, {"incarnation": "boot-9"}, "the host's current incarnation is boot-1"),
    (12, {"mark": FencedMark(source="bus", incarnation="boot-0")},
     "marks of other incarnations are ignored"),
    (13, {"evidence": _dead(lease_renewed_since_mark=True)}, "rule 'fenced' does not hold"),
    (13, {"evidence": _dead(leader_for_s=10.0)}, "rule 'fenced' does not hold"),
    (13, {"epoch": 1}, "epoch 1 is older than the epoch 3 of an earlier decision"),
    (14, {"vm": "b"}, "the VM runs on h2"),
    (16, {"host": "h1", "incarnation": "boot-1"}, "h1 is not a liveset member (it is dead)"),
    (16, {"incarnation": "boot-9"}, "the order is for incarnation boot-9"),
    (17, {"incarnation": "boot-9"}, "it was started by incarnation boot-9"),
]  # fmt: skip


@pytest.mark.parametrize(("seq", "changes", "problem"), TAMPERINGS)
def test_tampering_with_one_decision_is_caught_at_that_decision(
    seq: int, changes: dict[str, Any], problem: str
) -> None:
    """The first decision verify flags is the tampered one, with what differs; decisions
    before it still agree."""
    log = tampered(every_decision_log().entries, seq, **changes)
    report = verify(log)
    assert not report.ok
    assert report.differences[0].seq == seq
    assert any(problem in f.problem for f in report.differences if f.seq == seq), [
        f.problem for f in report.differences
    ]


def test_a_restored_plan_must_cite_the_latest_plan() -> None:
    """A PlanRestored citing the older plan A, when plan B was recorded since, differs."""
    entries = every_decision_log().entries
    log = tampered(entries, 10, plan=entries[3].event.event_id)
    report = verify(log)
    assert [f.seq for f in report.differences] == [10]
    assert "a newer plan was recorded" in report.differences[0].problem


def test_without_arbiter_rules_liveness_decisions_are_unconfirmed_never_agreed() -> None:
    """When the arbiter core provides no rule, each suspicion and death is listed as not
    re-checked (the audit still passes on what it could check)."""
    report = verify(every_decision_log().entries, rules=ArbiterRules())
    assert sorted(f.seq for f in report.unconfirmed) == [6, 11, 13]
    assert all("no arbiter rule to re-check" in f.problem for f in report.unconfirmed)
    assert report.ok


def test_a_recorded_log_from_the_store_is_verified_as_is() -> None:
    """Entries with extra fields (the event store's Recorded: seq, subject, event) verify
    directly, so scenario tests can hand over what the store read."""
    from services.common.eventstore import Recorded
    from services.common.subjects import subject_for

    recorded = [Recorded(e.seq, subject_for(e.event), e.event) for e in failover_log().entries]
    report = verify(recorded)
    assert report.ok and report.decisions == 8


def test_the_json_report_lists_each_difference() -> None:
    """--json: ok false, the checked counts, and each difference with seq, type, subject."""
    log = tampered(failover_log().entries, 6, evidence=fenced_evidence("boot-7"))
    data = verify(log).to_json()
    assert data["ok"] is False
    assert data["checked"]["host_declared_dead"] == 1
    first = data["differences"][0]
    assert (first["seq"], first["type"], first["subject"]) == (6, "host_declared_dead", "host lab1")
    assert "incarnation boot-7" in first["problem"]


def test_an_empty_log_has_nothing_to_differ() -> None:
    """No events, no decisions: the audit passes."""
    report = verify(LogBuilder().entries)
    assert report.ok and report.events == 0 and report.decisions == 0


def test_elections_fence_the_epochs_of_later_decisions() -> None:
    """After a leader is elected at epoch 5, its decisions (epoch 5) agree; a decision
    stamped with epoch 4 is a deposed leader's; an election whose epoch does not exceed the
    epochs already in the log differs."""
    from schemas.events import LeaderElected

    log = prefix(failover_log(), 4)  # decisions so far at epoch 3
    log.add(LeaderElected, epoch=5, arbiter="arbiter@lab2")
    log.epoch = 5
    log.entries += [e._replace(seq=e.seq + 1, event=e.event.model_copy(update={"epoch": 5}))
                    for e in failover_log().entries[4:]]  # fmt: skip
    report = verify(log.entries)
    assert report.ok and report.checked["leader_elected"] == 1
    stale = tampered(log.entries, 7, epoch=4)
    [finding] = verify(stale).differences
    assert finding.seq == 7
    assert finding.problem == (
        "epoch 4 is older than the leader elected at sequence 5 (epoch 5): a deposed leader's "
        "decision"
    )
    log.add(LeaderElected, epoch=4, arbiter="arbiter@lab1")
    assert [(f.seq, f.problem) for f in verify(log.entries).differences] == [
        (11, "epoch 4 does not follow the epochs already in the log (5)")
    ]
