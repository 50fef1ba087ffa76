"""What a host's report says happened to its VMs, as the arbiter's decisions (pure).

A report (schemas.reports.HostReport, repeated for about T so that a lost one loses nothing)
counts only for the incarnation the view knows as that host's current one, and each item only
while the VM still stands where the report's instance left it: a repeated report, or one about
an instance that has since been replaced, decides nothing twice.

Every stop but an admin shutdown is a lost VM (`VmLost`, with its cause), HA restarts it:
the exit report says the instance is gone, so starting it again cannot make it run twice.
Only a member's report counts for exits: the VMs a fencing host kills (reported with cause
`fenced`, in a report whose phase is `fenced`) come back through its declaration instead.
"""

from __future__ import annotations

from collections.abc import Collection, Container

from schemas.reports import HostReport, VMExitReport
from services.arbiter.view import (
    Decision,
    LivenessView,
    VmEvacuated,
    VmLost,
    VmRunning,
    VmShutDownByAdmin,
    VmStartFailed,
)

# Exit causes of a VM that stopped by itself or was killed on a host that stays up (the
# kernel's OOM killer, a crash, its disk lost): HA starts it again.
LOST = ("guest-halt", "crashed", "killed", "storage-lost")


def report_decision(
    view: LivenessView,
    report: HostReport,
    evacuating: Collection[str],
    stable: Container[str] = (),
) -> Decision | None:
    """The first decision `report` still calls for in `view`, or None. The caller folds it and
    asks again, so that one report's items are decided one at a time against a current view.
    `stable`: VMs that have run long enough that a loss starts their count of tries anew."""
    host = view.hosts.get(report.host)
    if host is None or host.dead or host.incarnation != report.incarnation:
        return None
    inc = report.incarnation
    ordered_here = ("ordered", report.host, inc)
    for run in report.vms:
        vm = view.vms.get(run.vm)
        if vm and (vm.state, vm.host, vm.incarnation, vm.order_id) == (*ordered_here, run.instance):
            return VmRunning(vm.name, report.host, inc)
    for failure in report.failed_starts:
        vm = view.vms.get(failure.vm)
        if vm and (vm.state, vm.host, vm.incarnation, vm.order_id) == (
            *ordered_here,
            failure.instance,
        ):
            return VmStartFailed(vm.name, report.host, inc, failure.reason)
    if report.phase != "member":
        return None
    for exit_ in report.exits:
        decision = _exit_decision(view, report.host, inc, exit_, evacuating, stable)
        if decision is not None:
            return decision
    return None


def _exit_decision(
    view: LivenessView,
    host: str,
    inc: str,
    exit_: VMExitReport,
    evacuating: Collection[str],
    stable: Container[str],
) -> Decision | None:
    vm = view.vms.get(exit_.vm)
    if vm is None or (vm.state, vm.host, vm.incarnation) != ("running", host, inc):
        return None
    if vm.instance is not None and vm.instance != exit_.instance:
        return None  # an earlier instance's exit, repeated
    if exit_.cause == "admin-shutdown":
        return VmEvacuated(vm.name, host) if vm.name in evacuating else VmShutDownByAdmin(vm.name)
    if exit_.cause in LOST:
        return VmLost(vm.name, host, inc, exit_.cause, stable=vm.name in stable)
    return None
