"""The timeout path with and without the leader's own reading of the store
(services.arbiter.rules, TIMEOUT_PATH), over every combination of its inputs."""

from __future__ import annotations

import itertools

import pytest

from schemas.liveness import DeadEvidence, OwnSlotReading, OwnStoreReading
from services.arbiter.rules import TIMEOUT_PATH, TimeoutFacts, rule_holds, timeout_branch
from tests.unit.arbiter.helpers import LONG, OUTAGES, SHORT, SLOTS, T_DEAD, TIMERS

OWN = {
    "no store": None,  # an arbiter started without --store
    "no reading": OwnStoreReading(),  # its reads stopped (nothing tried lately)
    "still T_dead": OwnStoreReading(
        slot=OwnSlotReading(incarnation="a#1", seq=3, still_for_s=LONG)
    ),
    "still less": OwnStoreReading(slot=OwnSlotReading(incarnation="a#1", seq=3, still_for_s=SHORT)),
    "other incarnation still": OwnStoreReading(
        slot=OwnSlotReading(incarnation="a#0", seq=3, still_for_s=LONG)
    ),
    "never read": OwnStoreReading(slot=OwnSlotReading(incarnation="a#1", still_for_s=0.0)),
    "unreachable T_dead": OwnStoreReading(unreachable_for_s=LONG),
    "unreachable less": OwnStoreReading(unreachable_for_s=SHORT),
}
GRID = list(itertools.product((LONG, SHORT), SLOTS, OUTAGES, OWN))


def expected(silent: float, slot: str, outage: str, own: str) -> bool:
    """The lead's decision (issue 13), transcribed independently of the code under test: the
    lease silent for T_dead, and with a store of its own the leader's own reading decides
    (its slot not advanced for T_dead, or a genuine outage: every lease holder and the leader
    itself unable to reach the store for T_dead); a collector's "still" counts for nothing.
    Without a store of its own, the old rule."""
    if silent < T_DEAD:
        return False
    if own == "no store":
        return slot == "still T_dead" or outage == "T_dead"
    return own == "still T_dead" or (outage == "T_dead" and own == "unreachable T_dead")


@pytest.mark.parametrize(("silent", "slot", "outage", "own"), GRID)
def test_the_timeout_rule_holds_exactly_as_decided(
    silent: float, slot: str, outage: str, own: str
) -> None:
    """rule_holds on a timeout declaration agrees with the decided rule for every input."""
    evidence = DeadEvidence(
        rule="timeout",
        incarnation="a#1",
        t_dead_s=T_DEAD,
        leader_for_s=LONG,
        lease_silent_for_s=silent,
        slot_stale=SLOTS[slot],
        store_outage=OUTAGES[outage],
        own_store=OWN[own],
    )
    assert rule_holds(evidence, TIMERS) == expected(silent, slot, outage, own)


FACTS = [TimeoutFacts(*key) for key in itertools.product((False, True), repeat=5)]


@pytest.mark.parametrize("facts", FACTS, ids=str)
def test_with_a_store_of_its_own_no_collectors_word_decides(facts: TimeoutFacts) -> None:
    """Over every input of the table: with its own store, the collectors' claims (a still
    slot; every holder unreachable) never decide alone: flipping the collector's "still" never
    changes the verdict, and the outage branch needs the leader's own outage too."""
    branch = timeout_branch(facts)
    if facts.own_store:
        flipped = TimeoutFacts(
            facts.own_store, facts.own_still, not facts.collector_still,
            facts.holders_unreachable, facts.own_unreachable,
        )  # fmt: skip
        assert (timeout_branch(flipped) is None) == (branch is None)
        assert (branch is not None) == (
            facts.own_still or (facts.holders_unreachable and facts.own_unreachable)
        )
    else:
        assert (branch is not None) == (facts.collector_still or facts.holders_unreachable)


def test_each_table_says_what_it_checks() -> None:
    """Both tables have their two branches, each with a text the explanation shows."""
    assert sorted(TIMEOUT_PATH) == [False, True]
    assert all(len(b) == 2 and all(x.says for x in b) for b in TIMEOUT_PATH.values())
    assert "own reading" in TIMEOUT_PATH[True][0].says
