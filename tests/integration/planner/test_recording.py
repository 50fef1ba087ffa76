"""Recording plans on a real event log: a change appended to the log leads to a recorded
plan (with the overcommitment alarm raised and ended as ntol is crossed), two replicas record
exactly one plan per log state, plans carry the newest epoch in the log, and the audit's
verify confirms every plan and alarm."""

from __future__ import annotations

import asyncio
from collections import Counter

from schemas.events import (
    LeaderElected,
    NtolSet,
    PlanComputed,
    PoolCreated,
    VMCreated,
    VMProtectionSet,
    VMShutDownByAdmin,
)
from schemas.pool import VM
from services.audit import verify
from services.common.eventstore import Recorded
from tests.fixtures.events import lab_pool, make
from tests.integration.planner.conftest import Bus, eventually

# Lab pool (ntol 1, tolerates 1): a 27000 MiB VM on lab2 leaves no room there for Minion 1.
BIG = VM(name="Big", memory_mib=27000, host="lab2")


def kinds(entries: list[Recorded]) -> list[str]:
    return [r.event.type for r in entries]


def plans(entries: list[Recorded]) -> list[PlanComputed]:
    return [r.event for r in entries if isinstance(r.event, PlanComputed)]


def assert_one_plan_per_state(log: list[Recorded]) -> None:
    """Every plan is based on the entry right before it, and no state has two plans."""
    bases = Counter()
    for r in log:
        if isinstance(r.event, PlanComputed):
            assert r.event.based_on_seq == r.seq - 1, (r.seq, r.event.based_on_seq)
            bases[r.event.based_on_seq] += 1
    assert bases and max(bases.values()) == 1, bases


async def test_changes_in_the_log_are_planned_with_alarms_across_ntol(bus: Bus) -> None:
    """Pool created, then (appended directly, epoch 0) a VM that fills lab2, ntol 0, ntol 1,
    the VM shut down: each change gets a plan; crossing below ntol raises
    pool_overcommitted, meeting it again records plan_restored; verify confirms them all."""
    replica = await bus.planner("p1")
    seq = await bus.append(make(PoolCreated, epoch=0, pool=lab_pool()))
    after = await bus.plan_after(seq)
    assert kinds(after) == ["plan_computed"]
    assert plans(after)[0].max_host_failures_to_tolerate == 1
    steps = [
        (make(VMCreated, epoch=0, spec=BIG), 0, ["plan_computed", "pool_overcommitted"]),
        (make(NtolSet, epoch=0, host_failures_to_tolerate=0), 0,
         ["plan_computed", "plan_restored"]),
        (make(NtolSet, epoch=0, host_failures_to_tolerate=1), 0,
         ["plan_computed", "pool_overcommitted"]),
        (make(VMProtectionSet, epoch=0, vm="Big", ha_restart_priority="best-effort"), 0,
         ["plan_computed"]),
        (make(VMShutDownByAdmin, epoch=0, vm="Big"), 1, ["plan_computed", "plan_restored"]),
    ]  # fmt: skip
    for change, tolerated, recorded in steps:
        seq = await bus.append(change)
        after = await bus.plan_after(seq)
        assert kinds(after) == recorded, change.type
        assert plans(after)[0].max_host_failures_to_tolerate == tolerated, change.type
    log = await bus.log()
    assert_one_plan_per_state(log)
    report = verify(log)
    assert report.differences == [] and report.unconfirmed == []
    assert report.checked == {"plan_computed": 6, "pool_overcommitted": 2, "plan_restored": 2}
    metrics = replica.metrics
    assert metrics.recorded.labels("plan_computed")._value.get() == 6
    assert metrics.recorded.labels("pool_overcommitted")._value.get() == 2
    assert metrics.max_failures._value.get() == 1
    assert metrics.overcommitted._value.get() == 0
    assert metrics.exact._value.get() == 1


async def test_two_replicas_record_exactly_one_plan_per_state(bus: Bus) -> None:
    """Two replicas race on every change (and on a burst of three changes in one append): the
    log holds one plan per state, each based on the entry before it, and verify agrees."""
    await bus.planner("p1")
    await bus.planner("p2")
    seq = await bus.append(make(PoolCreated, epoch=0, pool=lab_pool()))
    await bus.plan_after(seq)
    for ntol in (0, 1, 0):
        seq = await bus.append(make(NtolSet, epoch=0, host_failures_to_tolerate=ntol))
        await bus.plan_after(seq)
    burst = await bus.append(
        make(VMCreated, epoch=0, spec=BIG),
        make(NtolSet, epoch=0, host_failures_to_tolerate=1),
        make(VMProtectionSet, epoch=0, vm="Big", ha_restart_priority="restart"),
    )
    assert kinds(await bus.plan_after(burst))[:2] == ["plan_computed", "pool_overcommitted"]
    log = await bus.log()
    assert_one_plan_per_state(log)
    # One plan per change, the burst counting once: its events arrived together.
    assert len(plans(log)) == 5
    assert verify(log).differences == []
    conflicts = sum(r.metrics.append_conflicts._value.get() for r in bus.replicas)
    recorded = sum(r.metrics.recorded.labels("plan_computed")._value.get() for r in bus.replicas)
    print(f"append conflicts: {conflicts}")
    assert recorded == 5


async def test_plans_carry_the_newest_epoch_in_the_log(bus: Bus) -> None:
    """After a leader_elected of epoch 7, a recorded plan is stamped 7 (the arbiter reads a
    higher epoch as a newer leader, so the planner never uses one of its own)."""
    await bus.planner("p1")
    await bus.append(make(PoolCreated, epoch=0, pool=lab_pool()))
    assert plans(await bus.plan_after(1))[0].epoch == 0
    await bus.append(make(LeaderElected, epoch=7, arbiter="a1"))
    seq = await bus.append(make(NtolSet, epoch=7, host_failures_to_tolerate=0))
    assert plans(await bus.plan_after(seq))[0].epoch == 7


async def test_a_replica_on_a_planned_log_records_nothing_more(bus: Bus) -> None:
    """A replica started on a log whose latest plan is current records nothing; the log's
    plan shows in its gauges."""
    await bus.planner("p1")
    seq = await bus.append(make(PoolCreated, epoch=0, pool=lab_pool()))
    await bus.plan_after(seq)
    late = await bus.planner("p2")

    async def caught_up() -> bool:
        return late.view.last_seq == await bus.store.last_seq()

    await eventually(caught_up)
    settle = await bus.append(make(LeaderElected, epoch=2, arbiter="a1"))  # not relevant
    await eventually(lambda: _at(late, settle))
    await asyncio.sleep(0.5)  # many debounce periods: time enough to record, were it wrong
    assert kinds(await bus.log()) == ["pool_created", "plan_computed", "leader_elected"]
    assert late.metrics.max_failures._value.get() == 1
    assert late.metrics.recorded.labels("plan_computed")._value.get() == 0


async def _at(replica: object, seq: int) -> bool:
    return replica.view.last_seq >= seq  # type: ignore[attr-defined, no-any-return]
