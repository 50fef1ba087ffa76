"""`haplan status` tells the truth: a VM the log records running is shown stopped at once when
no host runs it (its host's newest report does not list it), when its host fenced, or when
that host's report says it is fencing; the log's state is then in `recorded_power_state`."""

from __future__ import annotations

from typing import Any

from schemas.events import HostJoined, PoolCreated, VMLost
from schemas.reports import HostReport, RunningVM
from services.arbiter.status import status_of
from services.state import PoolState, fold
from tests.fixtures.events import lab_pool, make


def _state(*more: Any) -> PoolState:
    return fold(
        [
            make(PoolCreated, epoch=0, pool=lab_pool()),
            make(HostJoined, host="lab1", incarnation="lab1-a"),
            make(HostJoined, host="lab2", incarnation="lab2-a"),
            *more,
        ]
    )


def _report(vms: tuple[str, ...], phase: str = "member", inc: str = "lab1-a") -> HostReport:
    return HostReport.model_validate(
        {
            "host": "lab1",
            "incarnation": inc,
            "seq": 3,
            "phase": phase,
            "lease_ok": True,
            "store_ok": True,
            "vms": [RunningVM(vm=v, instance="i") for v in vms],
        }
    )


def _minion(answer: dict[str, Any]) -> dict[str, Any]:
    [vm] = [v for v in answer["vms"] if v["name"] == "Minion 1"]
    return vm


def test_a_vm_its_host_does_not_report_is_not_running() -> None:
    """lab1's newest report lists no VM: Minion 1 is shown stopped (the log says running)."""
    answer = status_of(_state(), "arb", ["lab1", "lab2"], {"lab1": _report(())})
    assert _minion(answer)["power_state"] == "stopped"
    assert _minion(answer)["recorded_power_state"] == "running"


def test_a_vm_its_host_reports_is_running() -> None:
    """The same VM listed in lab1's report is running; without any report the log decides."""
    state = _state()
    shown = _minion(status_of(state, "arb", [], {"lab1": _report(("Minion 1",))}))
    assert shown == {"name": "Minion 1", "host": "lab1", "power_state": "running",
                     "ha_restart_priority": "restart", "order": 0, "memory_mib": 4160}  # fmt: skip
    assert _minion(status_of(state, "arb", []))["power_state"] == "running"


def test_a_fenced_hosts_vms_are_stopped_at_once() -> None:
    """lab1 fenced (the leader has its mark, or its report says phase fenced): Minion 1 is
    stopped before lab1 is declared dead; a report of an older incarnation says nothing."""
    state = _state()
    assert _minion(status_of(state, "arb", ["lab2"], {}, fenced=["lab1"]))[
        "power_state"
    ] == "stopped"
    fencing = {"lab1": _report(("Minion 1",), phase="fenced")}
    assert _minion(status_of(state, "arb", ["lab2"], fencing))["power_state"] == "stopped"
    old = {"lab1": _report((), inc="lab1-old")}
    assert _minion(status_of(state, "arb", ["lab2"], old))["power_state"] == "running"


def test_a_lost_vm_is_restarting_in_the_log() -> None:
    """Once the loss is decided (vm_lost), the log itself says restarting."""
    lost = make(VMLost, vm="Minion 1", host="lab1", incarnation="lab1-a", cause="killed",
                stable=False)  # fmt: skip
    answer = status_of(_state(lost), "arb", ["lab1", "lab2"])
    assert _minion(answer)["power_state"] == "restarting"
