"""Evacuation plans: valid moves, the cannot-move cases, and the capacity left afterwards."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import Pool, load_pool
from services.planner import EvacuationPlan, evacuation_plan
from tests.unit.planner import oracle
from tests.unit.planner.pools import pool, small_pools, tight_pools, vm


def after_pool(p: Pool, host: str, plan: EvacuationPlan) -> Pool:
    """The pool in maintenance, built here independently of the planner."""
    moved = {m.vm: m.host for m in plan.moves}
    return pool(
        {h.name: h.memory_mib for h in p.hosts if h.name != host},
        [{**v.model_dump(), "host": moved.get(v.name, v.host)} for v in p.vms],
        ntol=min(p.ha.host_failures_to_tolerate, len(p.hosts) - 2),
    )


def assert_valid(p: Pool, host: str, plan: EvacuationPlan) -> None:
    """Moves go to other hosts within their free memory and anti-affinity; every running VM
    of the host is either moved or explained."""
    running = {v.name for v in p.vms_on(host)}
    moved = {m.vm for m in plan.moves}
    stuck = {c.vm for c in plan.cannot_move}
    assert not moved & stuck
    assert plan.possible == (moved == running and not stuck)
    if not plan.possible:
        assert stuck and all(c.reason for c in plan.cannot_move)
    room = {h: p.free_mib(h) for h in p.host_names if h != host}
    groups = {h: {v.anti_affinity for v in p.vms_on(h) if v.anti_affinity} for h in room}
    for m in plan.moves:
        v = p.vm(m.vm)
        assert m.vm in running and v.agile and m.host in room
        room[m.host] -= v.footprint
        assert room[m.host] >= 0
        if v.anti_affinity:
            assert v.anti_affinity not in groups[m.host]
            groups[m.host].add(v.anti_affinity)


def test_lab_pool_evacuation_is_judged_against_the_configured_ntol() -> None:
    """Evacuating lab1 moves Minion 1 to lab2; lab2 alone absorbs no failure, and the plan
    says so against the lab pool's configured ntol of 1 (not "ntol 0 met", as when it was
    clipped to the one host left): overcommitted, ntol does not hold."""
    plan = evacuation_plan(load_pool("schemas/examples/lab.yaml"), "lab1")
    assert plan.possible and not plan.ntol_holds
    assert [(m.vm, m.host) for m in plan.moves] == [("Minion 1", "lab2")]
    assert plan.capacity_after is not None
    assert plan.capacity_after.host_failures_to_tolerate == 1
    assert plan.capacity_after.max_host_failures_to_tolerate == 0
    assert plan.capacity_after.overcommitted


def test_a_given_configured_ntol_is_the_target() -> None:
    """The running pool hands its plan pool (ntol clipped to the hosts that can take VMs) and
    the configured ntol apart: the plan is judged against the configured one."""
    p = pool({"A": 10, "B": 10, "C": 10}, [vm("x", 1, "A")], ntol=1)
    assert evacuation_plan(p, "A").ntol_holds
    plan = evacuation_plan(p, "A", configured_ntol=2)
    assert plan.capacity_after is not None
    assert plan.capacity_after.host_failures_to_tolerate == 2 and not plan.ntol_holds


def test_local_disks_big_vms_and_groups_cannot_move() -> None:
    """Non-agile, too big and anti-affinity-blocked VMs are listed with their reasons."""
    p = pool(
        {"m": 40, "a": 12},
        [
            vm("local", 2, "m", "best-effort", agile=False),
            vm("huge", 20, "m"),
            vm("web1", 2, "m", anti_affinity="web"),
            vm("web0", 2, "a", "", anti_affinity="web"),
            vm("ok", 3, "m", ""),
        ],
    )
    plan = evacuation_plan(p, "m")
    reasons = {c.vm: c.reason for c in plan.cannot_move}
    assert not plan.possible and not plan.ntol_holds and plan.capacity_after is None
    assert reasons["local"] == "not agile: its disks are local to m"
    assert reasons["huge"].startswith("insufficient memory on other hosts: needs 20 MiB")
    assert (
        reasons["web1"]
        == "anti-affinity group web: every other host with room already runs a member"
    )
    assert [(m.vm, m.host) for m in plan.moves] == [("ok", "a")]
    assert_valid(p, "m", plan)


def test_single_host_pool_has_nowhere_to_go() -> None:
    """A pool of one host cannot evacuate it."""
    plan = evacuation_plan(pool({"solo": 10}, [vm("x", 2, "solo")]), "solo")
    assert not plan.possible
    assert [(c.vm, c.reason) for c in plan.cannot_move] == [("x", "no other host in the pool")]


def test_unknown_host_is_a_key_error() -> None:
    """An unknown host raises KeyError with a one-line message."""
    with pytest.raises(KeyError) as err:
        evacuation_plan(load_pool("schemas/examples/lab.yaml"), "lab7")
    assert str(err.value) == "unknown host 'lab7': the pool's hosts are lab1, lab2"


def test_prefers_the_placement_that_keeps_ntol() -> None:
    """Spreading E's two VMs over B and C would leave no host with room for X (10 MiB) if A
    fails; packing both on B keeps C free for X, so ntol 1 still holds."""
    p = pool(
        {"A": 12, "B": 12, "C": 12, "E": 12},
        [vm("X", 10, "A"), vm("e1", 4, "E", ""), vm("e2", 4, "E", "")],
        ntol=1,
    )
    plan = evacuation_plan(p, "E")
    assert plan.possible and plan.ntol_holds
    assert {m.host for m in plan.moves} == {"B"}
    assert plan.capacity_after is not None
    assert plan.capacity_after.max_host_failures_to_tolerate == 1
    assert_valid(p, "E", plan)


def test_reports_when_no_placement_keeps_ntol() -> None:
    """When every placement leaves the pool short, the plan is possible but ntol_holds is
    False and the capacity says by how much."""
    p = pool(
        {"A": 10, "B": 10, "C": 10}, [vm("x", 8, "A"), vm("y", 8, "B"), vm("z", 1, "C")], ntol=1
    )
    plan = evacuation_plan(p, "C")
    assert plan.possible and not plan.ntol_holds
    assert plan.capacity_after is not None
    assert plan.capacity_after.max_host_failures_to_tolerate == 0


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=st.one_of(small_pools(max_hosts=5, max_vms=10), tight_pools(max_hosts=5)), data=st.data())
def test_plans_are_valid_and_their_capacity_exact(p: Pool, data: st.DataObject) -> None:
    """On random pools the plan is valid, possible exactly when every running VM is agile and
    the oracle finds room for them all, and capacity_after is the oracle's answer for the
    pool in maintenance."""
    host = data.draw(st.sampled_from(p.host_names))
    plan = evacuation_plan(p, host)
    assert_valid(p, host, plan)
    leaving = p.vms_on(host)
    others = [
        (p.free_mib(h), frozenset(v.anti_affinity for v in p.vms_on(h) if v.anti_affinity))
        for h in p.host_names
        if h != host
    ]
    movable = all(v.agile for v in leaving) and oracle.packs(
        [(v.footprint, v.anti_affinity) for v in leaving], others
    )
    assert plan.possible == movable
    if plan.possible:
        after = after_pool(p, host, plan)
        assert plan.capacity_after is not None
        assert plan.capacity_after.exact
        truth = oracle.max_failures(after)
        assert plan.capacity_after.max_host_failures_to_tolerate == truth
        assert plan.ntol_holds == (truth >= p.ha.host_failures_to_tolerate)
        assert plan.capacity_after.host_failures_to_tolerate == p.ha.host_failures_to_tolerate
    assert evacuation_plan(p, host) == plan
