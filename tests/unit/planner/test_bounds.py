"""Soundness of the bounds the exact answer rests on, checked set by set against the oracle.

A proof row that holds for an infeasible set, or a refutation row exceeded by a feasible set,
would make the planner wrong; these tests look for exactly that on every failure set of random
small pools, tight ones and ones with anti-affinity groups included.
"""

from __future__ import annotations

from itertools import combinations, permutations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import Pool
from services.planner.bounds import (
    largest_proven,
    proof_rows,
    refutation_rows,
    smallest_refuted,
)
from services.planner.dominance import dominates
from services.planner.instance import instance
from services.planner.profile import guarantee_rows, profile
from services.planner.twostage import stage_one
from tests.unit.planner import oracle
from tests.unit.planner.pools import pool, small_pools, tight_pools, vm

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
pools = st.one_of(small_pools(), tight_pools())


def names(p: Pool, hosts: tuple[int, ...]) -> set[str]:
    return {p.hosts[h].name for h in hosts}


@SETTINGS
@given(p=pools)
def test_proof_rows_hold_only_for_feasible_sets(p: Pool) -> None:
    """Every failure set whose needed proof rows all hold is feasible (oracle)."""
    inst = instance(p)
    rows = proof_rows(inst)
    for k in range(1, inst.n):
        for f in combinations(range(inst.n), k):
            mask = np.zeros(inst.n, dtype=np.int64)
            mask[list(f)] = 1
            needed = rows.needs @ mask > 0
            if np.all((rows.weights @ mask <= rows.limits) | ~needed):
                assert oracle.feasible(p, names(p, f)), f


@SETTINGS
@given(p=pools)
def test_refutation_rows_are_exceeded_only_by_infeasible_sets(p: Pool) -> None:
    """Every failure set exceeding a refutation row is infeasible (oracle)."""
    inst = instance(p)
    rows = refutation_rows(inst)
    for k in range(1, inst.n):
        for f in combinations(range(inst.n), k):
            mask = np.zeros(inst.n, dtype=np.int64)
            mask[list(f)] = 1
            if np.any(rows.weights @ mask > rows.limits):
                assert not oracle.feasible(p, names(p, f)), f


@SETTINGS
@given(p=pools)
def test_closed_form_bounds_bracket_the_truth(p: Pool) -> None:
    """The all-sets-at-once bounds never cross the truth, and the refuting set is infeasible."""
    inst = instance(p)
    truth = oracle.max_failures(p)
    assert largest_proven(proof_rows(inst), inst.n) <= truth
    refuted = smallest_refuted(refutation_rows(inst), inst.n)
    if refuted is not None:
        k, hosts = refuted
        assert len(hosts) == k and k - 1 >= truth
        assert not oracle.feasible(p, names(p, hosts))


@SETTINGS
@given(p=pools, data=st.data())
def test_two_stage_proof_covers_only_feasible_completions(p: Pool, data: st.DataObject) -> None:
    """When the two-stage proof accepts a partial set, each of its completions is feasible."""
    inst = instance(p)
    hosts = list(range(inst.n))
    chosen = data.draw(
        st.lists(st.sampled_from(hosts), min_size=1, max_size=inst.n - 1, unique=True)
    )
    rest = [h for h in hosts if h not in chosen]
    candidates = data.draw(st.lists(st.sampled_from(rest), min_size=1, unique=True))
    r = data.draw(st.integers(1, len(candidates)))
    derived = stage_one(inst, profile(inst), chosen)
    if derived is not None and derived.proves(candidates, r):
        for t in combinations(candidates, r):
            assert oracle.feasible(p, names(p, (*chosen, *t))), (chosen, t)


@SETTINGS
@given(p=pools)
def test_a_dominating_host_fails_at_least_as_badly(p: Pool) -> None:
    """When host a dominates host b, any set F0 + a feasible implies F0 + b feasible (oracle),
    for every F0 containing neither."""
    inst = instance(p)
    for a, b in permutations(range(inst.n), 2):
        if not dominates(inst, a, b):
            continue
        rest = [h for h in range(inst.n) if h not in (a, b)]
        for k in range(len(rest) + 1):
            for f0 in combinations(rest, k):
                if oracle.feasible(p, names(p, (*f0, a))):
                    assert oracle.feasible(p, names(p, (*f0, b))), (a, b, f0)


def test_dominance_needs_room_items_and_groups() -> None:
    """Dominance asks for at least the free memory, VMs at least as large (same group for
    grouped ones) and no anti-affinity group the other host lacks."""
    p = pool(
        {"big": 20, "small": 13, "roomy": 30, "grouped": 20},
        [
            vm("b1", 6, "big"),
            vm("b2", 4, "big"),
            vm("s1", 5, "small"),
            vm("r1", 3, "roomy"),
            vm("g1", 6, "grouped", anti_affinity="web"),
            vm("g2", 4, "grouped"),
        ],
    )
    inst = instance(p)
    big, small, roomy, grouped = range(4)
    assert dominates(inst, big, small)
    assert not dominates(inst, small, big)  # fewer and smaller VMs
    assert not dominates(inst, big, roomy)  # less free memory (10 against 27)
    assert not dominates(inst, grouped, big)  # runs group web, which big does not
    assert dominates(inst, big, big)


@SETTINGS
@given(p=pools, most=st.integers(1, 3))
def test_merged_size_rows_are_still_sound(p: Pool, most: int) -> None:
    """Proof rows with consecutive sizes merged (as the search's stage 2 builds them for pools
    with many sizes) hold only for feasible sets."""
    inst = instance(p)
    prof = profile(inst)
    free = np.array(inst.free, dtype=np.int64)
    rows = guarantee_rows(
        free, prof.plain, prof.grouped, prof.outside, prof.sizes, most_plain_rows=most
    )
    for k in range(1, inst.n):
        for f in combinations(range(inst.n), k):
            mask = np.zeros(inst.n, dtype=np.int64)
            mask[list(f)] = 1
            needed = rows.needs @ mask > 0
            if np.all((rows.weights @ mask <= rows.limits) | ~needed):
                assert oracle.feasible(p, names(p, f)), f
