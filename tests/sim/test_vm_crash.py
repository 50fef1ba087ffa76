"""A VM that crashes on a healthy host (the OOM killer), in the simulator: invariant 2
(a protected VM runs again) covers it, and the VM comes back on its own host, which is never
fenced or declared dead."""

from __future__ import annotations

from dataclasses import replace

from services.arbiter.view import RestartOrdered, VmLost
from services.common.timers import Timers
from services.sim.faults import Arbiters, Fault, Kind
from services.sim.generate import lab_pool, single_fault
from tests.sim.helpers import simulate

LAB = lab_pool(30.0)
TIMERS = Timers.from_timeout(30.0)


def test_a_vm_crashed_on_a_healthy_host_runs_again_there() -> None:
    """Minion 1 crashes on lab1 (lab1 stays healthy): it is recorded lost, ordered again on
    lab1 and runs there; no host fences and no invariant is violated."""
    at = TIMERS.t_dead_s + 1.0
    schedule = single_fault(
        LAB, Kind.VM_CRASH, ("lab1",), at=at, until=at + 1.0, arbiters=Arbiters(("lab2", "lab1"))
    )
    ran = simulate(schedule)
    assert ran.outcome.ok, ran.outcome.violations
    lost = [d for d in ran.sim.log if isinstance(d, VmLost)]
    assert [(d.vm, d.host, d.cause) for d in lost] == [("Minion 1", "lab1", "killed")]
    orders = [d for d in ran.sim.log if isinstance(d, RestartOrdered) and d.vm == "Minion 1"]
    assert orders and orders[-1].host == "lab1"
    assert ran.running_on("Minion 1") == {"lab1"}
    assert ran.fenced_hosts(before=float("inf")) == set() and ran.declared("lab1") == []


def test_repeated_crashes_on_a_healthy_host_keep_the_invariants() -> None:
    """Minion 1 crashes three times a T apart: each time it runs again and the checker finds
    nothing. Its limits count the tries: the first two are restarts in place (max_restart 2),
    the third a relocation, placed where the plan puts it (lab1 again here: every host fits)."""
    at = TIMERS.t_dead_s + 1.0
    base = single_fault(
        LAB, Kind.VM_CRASH, ("lab1",), at=at, until=at + 1.0, arbiters=Arbiters(("lab2", "lab1"))
    )
    crashes = tuple(
        Fault(Kind.VM_CRASH, at + k * TIMERS.timeout_s, at + k * TIMERS.timeout_s + 1.0,
              ("lab1", "lab2"))
        for k in range(3)
    )  # fmt: skip
    ran = simulate(replace(base, faults=crashes))
    assert ran.outcome.ok, ran.outcome.violations
    assert len([d for d in ran.sim.log if isinstance(d, VmLost)]) == 3
    orders = [d for d in ran.sim.log if isinstance(d, RestartOrdered) and d.vm == "Minion 1"]
    assert [d.host for d in orders[:2]] == ["lab1", "lab1"] and len(orders) == 3
    leader = ran.sim._leader()
    assert leader is not None
    vm = leader.core.view.vms["Minion 1"]
    assert (vm.restarts, vm.relocations) == (2, 1)
    assert ran.running_on("Minion 1") == {orders[-1].host}
