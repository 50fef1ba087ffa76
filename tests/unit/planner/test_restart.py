"""Restart plans: validity, optimality against the brute-force oracle, reasons, determinism."""

from __future__ import annotations

from itertools import combinations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import Pool, load_pool
from services.planner import RestartPlan, restart_plan
from services.planner.most import most_placed
from services.planner.placement import Bin, Item, score
from tests.unit.planner import oracle
from tests.unit.planner.pools import pool, small_pools, vm

LAB = "schemas/examples/lab.yaml"


def assert_valid(p: Pool, failed: set[str], plan: RestartPlan) -> None:
    """Memory, anti-affinity, survivors only, candidates only, every VM of F accounted for."""
    running = {v.name for v in p.vms if v.host in failed}
    placed = {pl.vm for pl in plan.placements}
    left = {n.vm for n in plan.not_restarted}
    assert placed | left == running and not placed & left
    assert all(n.reason for n in plan.not_restarted)
    room = {h.name: p.free_mib(h.name) for h in p.hosts if h.name not in failed}
    groups = {h: {v.anti_affinity for v in p.vms_on(h) if v.anti_affinity} for h in room}
    for pl in plan.placements:
        v = p.vm(pl.vm)
        assert pl.host in room, "placed on a failed host"
        assert v.agile and v.ha_restart_priority in ("restart", "best-effort")
        room[pl.host] -= v.footprint
        assert room[pl.host] >= 0, f"{pl.host} over capacity"
        if v.anti_affinity:
            assert v.anti_affinity not in groups[pl.host], "anti-affinity broken"
            groups[pl.host].add(v.anti_affinity)
    keys = [(p.vm(pl.vm).order, pl.vm) for pl in plan.placements]
    assert keys == sorted(keys), "placements not in restart order"


def plan_score(p: Pool, failed: set[str], plan: RestartPlan) -> tuple[int, int, int]:
    cands = [
        v
        for v in p.vms
        if v.host in failed and v.agile and v.ha_restart_priority in ("restart", "best-effort")
    ]
    distinct = sorted({v.order for v in cands})
    placed = [p.vm(pl.vm) for pl in plan.placements]
    return (
        sum(v.ha_restart_priority == "restart" for v in placed),
        sum(v.ha_restart_priority == "best-effort" for v in placed),
        -sum(distinct.index(v.order) for v in placed),
    )


def test_lab_pool_restarts_minion_on_the_other_host() -> None:
    """The article's lab pool: Minion 1 of lab1 restarts on lab2."""
    plan = restart_plan(load_pool(LAB), ["lab1"])
    assert plan.to_json() == {
        "failed_hosts": ["lab1"],
        "placements": [{"vm": "Minion 1", "host": "lab2"}],
        "not_restarted": [],
        "optimal": True,
    }


def test_no_survivor_is_the_reason_when_every_host_fails() -> None:
    """With no survivor, every candidate is left out with 'no surviving host'."""
    plan = restart_plan(load_pool(LAB), ["lab1", "lab2"])
    assert plan.placements == ()
    assert [(n.vm, n.reason) for n in plan.not_restarted] == [("Minion 1", "no surviving host")]


def test_unknown_host_is_a_key_error_with_a_one_line_message() -> None:
    """An unknown host name raises KeyError whose text names it and lists the real hosts."""
    with pytest.raises(KeyError) as err:
        restart_plan(load_pool(LAB), ["lab3"])
    assert str(err.value) == "unknown host 'lab3': the pool's hosts are lab1, lab2"


def test_reasons_name_what_stops_each_vm() -> None:
    """Unprotected, non-agile, too big, and anti-affinity-blocked VMs each get their reason."""
    p = pool(
        {"a": 40, "b": 20},
        [
            vm("free-rider", 2, "a", ""),
            vm("local", 2, "a", "best-effort", agile=False),
            vm("huge", 25, "a"),
            vm("web2", 3, "a", anti_affinity="web"),
            vm("web1", 3, "b", "", anti_affinity="web"),
        ],
    )
    plan = restart_plan(p, ["a"])
    reasons = {n.vm: n.reason for n in plan.not_restarted}
    assert reasons["free-rider"] == "not protected: its ha_restart_priority is empty"
    assert reasons["local"] == "not agile: its disks are local to a"
    assert reasons["huge"].startswith("insufficient memory on survivors: needs 25 MiB")
    assert reasons["web2"] == (
        "anti-affinity group web: every survivor with room already runs a member"
    )
    assert plan.placements == ()


def test_restart_vms_take_the_room_before_best_effort_and_lower_order_first() -> None:
    """When room is short, restart VMs beat best-effort ones, and lower order beats higher."""
    p = pool(
        {"a": 30, "b": 10},
        [
            vm("be", 6, "a", "best-effort"),
            vm("late", 6, "a", order=2),
            vm("early", 6, "a", order=1),
        ],
    )
    plan = restart_plan(p, ["a"])
    assert [pl.vm for pl in plan.placements] == ["early"]
    reasons = {n.vm: n.reason for n in plan.not_restarted}
    assert set(reasons) == {"be", "late"}
    assert reasons["late"].startswith("insufficient memory on survivors: needs 6 MiB, at most 4")


def test_finds_the_packing_that_worst_fit_decreasing_misses() -> None:
    """Survivors 10+10, VMs 6,4,4,3,3: worst-fit decreasing strands a 3; an exact packing
    ({6,4},{4,3,3}) exists and the plan restarts everything."""
    p = pool(
        {"dead": 20, "s1": 10, "s2": 10},
        [vm(f"v{i}", m, "dead") for i, m in enumerate([6, 4, 4, 3, 3])],
    )
    plan = restart_plan(p, ["dead"])
    assert plan.not_restarted == ()
    assert len(plan.placements) == 5
    assert_valid(p, {"dead"}, plan)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=small_pools(max_hosts=5, max_vms=10), data=st.data())
def test_restart_plans_are_valid_optimal_and_deterministic(p: Pool, data: st.DataObject) -> None:
    """On random small pools and failure sets the plan is valid, scores as well as the
    oracle's best plan, and two calls give the same plan."""
    names = list(p.host_names)
    failed = set(data.draw(st.lists(st.sampled_from(names), min_size=1, unique=True)))
    plan = restart_plan(p, failed)
    assert_valid(p, failed, plan)
    assert plan.optimal
    assert plan_score(p, failed, plan) == oracle.best_restart_score(p, failed)
    assert restart_plan(p, sorted(failed, reverse=True)) == plan


@st.composite
def short_of_room(draw: st.DrawFn) -> tuple[list[Item], list[Bin]]:
    """A few VMs of both tiers and orders, and hosts with less room than they need."""
    items = [
        Item(
            f"v{i}",
            draw(st.integers(1, 9)),
            draw(st.sampled_from([None, None, "g"])),
            draw(st.integers(0, 1)),
            draw(st.integers(0, 2)),
        )
        for i in range(draw(st.integers(1, 7)))
    ]
    bins = [
        Bin(f"b{j}", draw(st.integers(0, 12)), frozenset(draw(st.sampled_from([(), ("g",)]))))
        for j in range(draw(st.integers(1, 3)))
    ]
    return items, bins


def brute_best(items: list[Item], bins: list[Bin]) -> tuple[int, int, int]:
    """The best score over every subset of the VMs that packs (oracle search)."""
    distinct = sorted({it.order for it in items})
    hosts = [(b.free, b.groups) for b in bins]
    best = (0, 0, 0)
    for r in range(len(items) + 1):
        for subset in combinations(items, r):
            if oracle.packs([(it.size, it.group) for it in subset], hosts):
                candidate = (
                    sum(it.tier == 0 for it in subset),
                    sum(it.tier == 1 for it in subset),
                    -sum(distinct.index(it.order) for it in subset),
                )
                best = max(best, candidate)
    return best


@settings(max_examples=300, deadline=None)
@given(case=short_of_room())
def test_most_placed_is_valid_and_right_when_it_claims_proof(
    case: tuple[list[Item], list[Bin]],
) -> None:
    """The count-first greedy places VMs validly, and when it claims to be the best plan its
    score equals the best over every packable subset."""
    items, bins = case
    assignment, proven = most_placed(items, bins)
    room = [b.free for b in bins]
    groups = [set(b.groups) for b in bins]
    for it, j in zip(items, assignment, strict=True):
        if j is not None:
            room[j] -= it.size
            assert room[j] >= 0
            assert it.group is None or it.group not in groups[j]
            if it.group is not None:
                groups[j].add(it.group)
    if proven:
        assert score(items, assignment) == brute_best(items, bins)
