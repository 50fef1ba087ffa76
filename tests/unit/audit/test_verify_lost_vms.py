"""verify on lost VMs: the restart order after a `vm_lost` (in place on its healthy host)
agrees; an HA order for a VM HA gave up on (`vm_failed`) differs, an operator's start of it
agrees."""

from __future__ import annotations

from schemas.events import VMFailed, VMLost, VMRestartOrdered, VMStarted
from services.audit import verify
from tests.unit.audit.logs import LogBuilder, failover_log


def _lost_on_lab2() -> LogBuilder:
    """The failover (Minion 1 runs on lab2, seq 9 the plan after it), then it is killed on
    lab2 (seq 10)."""
    log = failover_log()
    log.add(VMLost, vm="Minion 1", host="lab2", incarnation="boot-7", cause="killed",
            stable=False)  # fmt: skip
    return log


def _problems(log: LogBuilder, seq: int) -> list[str]:
    return [f.problem for f in verify(log.entries).differences if f.seq == seq]


def test_a_restart_in_place_after_a_lost_vm_agrees() -> None:
    """Ordered again on lab2 (same incarnation) after its loss there, and started: verifies."""
    log = _lost_on_lab2()
    log.add(VMRestartOrdered, vm="Minion 1", host="lab2", incarnation="boot-7",
            plan="restart-plan:order-2")  # fmt: skip
    log.add(VMStarted, vm="Minion 1", host="lab2", incarnation="boot-7", instance="order-2")
    report = verify(log.entries)
    assert report.ok, report.to_json()


def test_an_ha_order_for_a_failed_vm_differs_an_operator_start_agrees() -> None:
    """After vm_failed, an HA restart order differs (saying why); `vm start` does not."""
    log = _lost_on_lab2()
    log.add(VMFailed, vm="Minion 1", reason="restarts 2/2, relocations 2/2")
    log.add(VMRestartOrdered, vm="Minion 1", host="lab2", incarnation="boot-7",
            plan="restart-plan:order-2")  # fmt: skip
    assert _problems(log, log.seq) == [
        "HA gave up on the VM (vm_failed): only an operator's start may start it"
    ]
    operator = _lost_on_lab2()
    operator.add(VMFailed, vm="Minion 1", reason="restarts 2/2, relocations 2/2")
    operator.add(VMRestartOrdered, vm="Minion 1", host="lab2", incarnation="boot-7",
                 plan="operator-start:order-2")  # fmt: skip
    assert _problems(operator, operator.seq) == []
