"""What a host's report says happened to its VMs, as the arbiter's decisions (pure).

A report (schemas.reports.HostReport, repeated for about T so that a lost one loses nothing)
counts only for the incarnation the view knows as that host's current one, and each item only
while the VM still stands where the report's instance left it: a repeated report, or one about
an instance that has since been replaced, decides nothing twice.
"""

from __future__ import annotations

from collections.abc import Collection

from schemas.reports import HostReport, VMExitReport
from services.arbiter.view import (
    Decision,
    LivenessView,
    VmEvacuated,
    VmHaltedByGuest,
    VmRunning,
    VmShutDownByAdmin,
    VmStartFailed,
)

# Exit causes that say the guest itself went away: HA starts it again (a crash is treated as
# a halt: the VM is no longer running and nobody asked for it to stop).
GUEST_GONE = ("guest-halt", "crashed")
# Causes that mean the host is fencing itself: it will be declared dead, and its VMs restarted
# through that decision; recording them here too would restart them before the host is dead.
HOST_FENCING = ("killed", "storage-lost")


def report_decision(
    view: LivenessView, report: HostReport, evacuating: Collection[str]
) -> Decision | None:
    """The first decision `report` still calls for in `view`, or None. The caller folds it and
    asks again, so that one report's items are decided one at a time against a current view."""
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
    for exit_ in report.exits:
        decision = _exit_decision(view, report.host, inc, exit_, evacuating)
        if decision is not None:
            return decision
    return None


def _exit_decision(
    view: LivenessView, host: str, inc: str, exit_: VMExitReport, evacuating: Collection[str]
) -> Decision | None:
    vm = view.vms.get(exit_.vm)
    if vm is None or (vm.state, vm.host, vm.incarnation) != ("running", host, inc):
        return None
    if vm.instance is not None and vm.instance != exit_.instance:
        return None  # an earlier instance's exit, repeated
    if exit_.cause == "admin-shutdown":
        return VmEvacuated(vm.name, host) if vm.name in evacuating else VmShutDownByAdmin(vm.name)
    if exit_.cause in GUEST_GONE:
        return VmHaltedByGuest(vm.name, host)
    return None
