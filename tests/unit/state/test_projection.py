"""Projecting the folded state back to a pool description."""

from __future__ import annotations

import pytest

from schemas import PoolError, pool_to_data
from schemas.events import HostDeclaredDead, HostJoined, PoolCreated, VMCreated, VMStarted
from schemas.pool import VM, Pool
from services.state import PoolState, apply, fold, plan_pool, to_pool
from tests.fixtures.events import dead_evidence, lab_pool, make, rich_pool


@pytest.mark.parametrize("pool", [lab_pool(), rich_pool()], ids=["lab", "rich"])
def test_a_created_pool_projects_back_to_itself(pool: Pool) -> None:
    """to_pool(fold(PoolCreated(p))) == p, field for field, in the same order."""
    state = apply(PoolState(), make(PoolCreated, epoch=0, pool=pool))
    assert to_pool(state) == pool
    assert pool_to_data(to_pool(state)) == pool_to_data(pool)


def test_projection_shows_where_vms_run_now() -> None:
    """After a failover the export has the VM on its new host, and a VM still waiting for
    its restart as halted."""
    state = fold(
        [
            make(PoolCreated, epoch=0, pool=rich_pool()),
            make(HostJoined, host="h2.rack7", incarnation="b2"),
            make(HostDeclaredDead, host="h1", evidence=dead_evidence()),
            make(VMStarted, vm="Web 1", host="h2.rack7", incarnation="b2", instance="i"),
        ]
    )
    pool = to_pool(state)
    assert pool.vm("Web 1").host == "h2.rack7"
    assert pool.vm("db.primary").host is None
    assert pool.vm("db.primary").memory_overhead_mib == 128


def test_no_pool_yet_is_a_clear_error() -> None:
    """Exporting an empty log says there is no pool and how to load one."""
    with pytest.raises(PoolError, match=r"no pool yet \(load one with `haplan pool create`\)"):
        to_pool(PoolState())


def test_an_impossible_recorded_pool_is_a_clear_error() -> None:
    """If the log's VMs no longer fit their hosts, the projection says so in one line."""
    state = fold(
        [
            make(PoolCreated, epoch=0, pool=lab_pool()),
            *(
                make(VMCreated, spec=VM(name=f"big {i}", memory_mib=16384, host="lab2"))
                for i in range(2)
            ),
        ]
    )
    with pytest.raises(PoolError, match="not a valid pool: host 'lab2' is over capacity"):
        to_pool(state)


def test_the_plan_is_about_hosts_that_can_take_vms_now() -> None:
    """plan_pool leaves out the dead host (no survivor), clips ntol to the hosts left, and
    keeps the configured ntol in the state; to_pool (the export) keeps every host."""
    state = fold(
        [
            make(PoolCreated, epoch=0, pool=lab_pool()),
            make(HostJoined, host="lab1", incarnation="a"),
            make(HostJoined, host="lab2", incarnation="b"),
            make(HostDeclaredDead, host="lab1", evidence=dead_evidence(incarnation="a")),
        ]
    )
    planned = plan_pool(state)
    assert planned.host_names == ("lab2",)
    assert planned.ha.host_failures_to_tolerate == 0
    assert state.ha.host_failures_to_tolerate == 1
    assert to_pool(state).host_names == ("lab1", "lab2")
    assert plan_pool(fold([make(PoolCreated, epoch=0, pool=lab_pool())])) == lab_pool()


def test_no_host_left_to_plan_for_is_a_clear_error() -> None:
    """Every host dead: one line saying so, not an invalid pool."""
    state = fold(
        [
            make(PoolCreated, epoch=0, pool=lab_pool()),
            *[make(HostJoined, host=h, incarnation=h) for h in ("lab1", "lab2")],
            *[
                make(HostDeclaredDead, host=h, evidence=dead_evidence(incarnation=h))
                for h in ("lab1", "lab2")
            ],
        ]
    )
    with pytest.raises(PoolError, match="no host of the pool can take VMs now"):
        plan_pool(state)
