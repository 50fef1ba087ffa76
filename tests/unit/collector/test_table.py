"""THE TABLE (services.collector.table) against DESIGN.md, for every combination of its inputs."""

from __future__ import annotations

import itertools

import pytest

from services.collector.table import FENCE_TABLE, Facts, StaysOnlyIf, decide

ALL_FACTS = [Facts(*combo) for combo in itertools.product((True, False), repeat=4)]


def design_says_stay(f: Facts) -> bool:
    """DESIGN.md's table, transcribed independently of the code under test."""
    if f.lease_ok and f.store_ok:
        return True
    if f.lease_ok:
        return f.peers_lost_store
    if f.store_ok:
        return f.global_bus_outage
    return False


@pytest.mark.parametrize("facts", ALL_FACTS, ids=str)
def test_every_combination_decides_as_the_design_table(facts: Facts) -> None:
    """For each of the 16 combinations of (lease_ok, store_ok, peers_lost_store,
    global_bus_outage) the verdict is DESIGN.md's, and a fence always says why."""
    verdict = decide(facts)
    assert verdict.stay == design_says_stay(facts)
    if verdict.stay:
        assert verdict.reason is None
    else:
        assert verdict.reason


def test_the_table_has_exactly_the_four_rows_of_the_design() -> None:
    """The table is keyed by (lease_ok, store_ok), one row each, with the design's conditions."""
    assert {key: row.stays_only_if for key, row in FENCE_TABLE.items()} == {
        (True, True): StaysOnlyIf.ALWAYS,
        (True, False): StaysOnlyIf.PEERS_LOST_STORE,
        (False, True): StaysOnlyIf.GLOBAL_BUS_OUTAGE,
        (False, False): StaysOnlyIf.NEVER,
    }


def test_fence_rows_name_the_channel_that_still_works() -> None:
    """Losing the store, the host says `fenced` on the bus; losing the bus, in its slot."""
    assert FENCE_TABLE[(True, False)].says_fenced_on == "bus"
    assert FENCE_TABLE[(False, True)].says_fenced_on == "slot"
    assert FENCE_TABLE[(True, True)].otherwise is None


def test_a_host_with_quorum_and_store_stays_whatever_its_peers_say() -> None:
    """Invariant 3 at the table level: lease and store both ok never fences."""
    for peers, outage in itertools.product((True, False), repeat=2):
        assert decide(Facts(True, True, peers, outage)).stay
