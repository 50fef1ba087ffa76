"""A VM whose storage is lost on a healthy host, in the simulator: it is not started on that
host's storage again but relocated at once, and runs again elsewhere; no host is fenced and
no invariant is violated."""

from __future__ import annotations

from services.arbiter.view import RestartOrdered, VmLost
from services.common.timers import Timers
from services.sim.faults import Arbiters, Kind
from services.sim.generate import lab_pool, single_fault
from tests.sim.helpers import simulate

LAB = lab_pool(30.0)
TIMERS = Timers.from_timeout(30.0)


def test_a_vm_whose_storage_is_lost_relocates_at_once() -> None:
    """lab1 loses Minion 1's storage for 5 T (a VM started there dies when it boots): the
    first order after the loss goes to lab2, where Minion 1 runs; lab1 is never fenced or
    declared dead, and the checker finds nothing."""
    at = TIMERS.t_dead_s + 1.0
    schedule = single_fault(
        LAB, Kind.STORAGE_LOST, ("lab1",), at=at, until=at + 5 * TIMERS.timeout_s,
        arbiters=Arbiters(("lab2", "lab1")),
    )  # fmt: skip
    ran = simulate(schedule)
    assert ran.outcome.ok, ran.outcome.violations
    lost = [d for d in ran.sim.log if isinstance(d, VmLost)]
    assert [(d.vm, d.host, d.cause) for d in lost] == [("Minion 1", "lab1", "storage-lost")]
    orders = [d for d in ran.sim.log if isinstance(d, RestartOrdered) and d.vm == "Minion 1"]
    after = orders[[o.host for o in orders].index("lab2") :] if orders else []
    assert orders and orders[0].host == "lab2", [o.host for o in orders]
    assert after and ran.running_on("Minion 1") == {"lab2"}
    assert ran.fenced_hosts(before=float("inf")) == set() and ran.declared("lab1") == []
