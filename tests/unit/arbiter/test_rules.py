"""The arbiter's rules and their re-check (services.arbiter.rules), over every combination."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from schemas.liveness import DeadEvidence, FencedMark
from services.arbiter.rules import DEAD_RULES, SUSPICION, HostEvidence, declare_dead, rule_holds
from tests.unit.arbiter.helpers import LONG, OUTAGES, SHORT, SLOTS, T_DEAD, TIMERS

MARKS = {
    "none": None,
    "this incarnation": FencedMark(source="bus", incarnation="a#1"),
    "other incarnation": FencedMark(source="slot", observer="b", incarnation="a#0"),
}
GRID = list(
    itertools.product(
        ("fenced", "timeout"), (LONG, SHORT), (LONG, SHORT), MARKS, (False, True), SLOTS, OUTAGES
    )
)


def design_says_dead(
    rule: str, leader_for: float, silent: float, mark: str, renewed: bool, slot: str, outage: str
) -> bool:
    """DESIGN.md's arbiter rules, transcribed independently of the code under test."""
    if leader_for < T_DEAD:
        return False  # it declares nothing for T_dead after it becomes leader
    if rule == "fenced":
        return mark == "this incarnation" and not renewed
    return silent >= T_DEAD and (slot == "still T_dead" or outage == "T_dead")


@pytest.mark.parametrize(
    ("rule", "leader_for", "silent", "mark", "renewed", "slot", "outage"), GRID
)
def test_rule_holds_for_every_combination_of_evidence(
    rule: str, leader_for: float, silent: float, mark: str, renewed: bool, slot: str, outage: str
) -> None:
    """rule_holds accepts a recorded declaration exactly when DESIGN.md's rule does."""
    evidence = DeadEvidence(
        rule=rule,  # type: ignore[arg-type]
        incarnation="a#1",
        t_dead_s=T_DEAD,
        leader_for_s=leader_for,
        lease_silent_for_s=silent,
        lease_renewed_since_mark=renewed,
        fenced_mark=MARKS[mark],
        slot_stale=SLOTS[slot],
        store_outage=OUTAGES[outage],
    )
    assert rule_holds(evidence, TIMERS) == design_says_dead(
        rule, leader_for, silent, mark, renewed, slot, outage
    )


def test_a_declaration_made_with_a_shorter_t_dead_does_not_hold() -> None:
    """Evidence gathered against a T_dead below the pool's is refused by the re-check."""
    evidence = DeadEvidence(
        rule="fenced",
        incarnation="a#1",
        t_dead_s=T_DEAD - 1,
        leader_for_s=100,
        lease_silent_for_s=100,
        fenced_mark=MARKS["this incarnation"],
    )
    assert not rule_holds(evidence, TIMERS)
    assert rule_holds(evidence.model_copy(update={"t_dead_s": T_DEAD}), TIMERS)


def test_declare_dead_prefers_the_fast_path_and_records_only_its_evidence() -> None:
    """With a mark and a long silence both present, the fenced rule decides; its evidence
    carries the mark and none of the timeout's readings; the result passes the re-check."""
    facts = HostEvidence(
        host="a",
        incarnation="a#1",
        leader_for_s=LONG,
        lease_silent_for_s=LONG,
        mark=MARKS["this incarnation"],
        slot_stale=SLOTS["still T_dead"],
    )
    evidence = declare_dead(facts, TIMERS)
    assert evidence is not None and evidence.rule == "fenced"
    assert evidence.slot_stale is None and evidence.fenced_mark == facts.mark
    assert rule_holds(evidence, TIMERS)
    timeout = declare_dead(dataclasses.replace(facts, mark=None), TIMERS)
    assert timeout is not None and timeout.rule == "timeout" and timeout.slot_stale is not None


def test_dead_rules_are_the_two_of_the_design_in_order_then_the_bmc() -> None:
    """The fast path first, then the timeout; a BMC's confirmed power-off after them
    (tests/unit/arbiter/test_power_fencing.py)."""
    assert [r.name for r in DEAD_RULES] == ["fenced", "timeout", "power_off"]


@pytest.mark.parametrize("key", list(itertools.product((False, True), repeat=3)))
def test_suspicion_table_covers_every_case(key: tuple[bool, bool, bool]) -> None:
    """A host is suspected when its lease is silent for more than T, and rejoins only when a
    renewal was actually seen (not merely because a new leader has not waited yet)."""
    suspected, silent, renewal_seen = key
    expected = "suspect" if silent and not suspected else None
    if suspected and not silent and renewal_seen:
        expected = "rejoin"
    assert SUSPICION[key] == expected
