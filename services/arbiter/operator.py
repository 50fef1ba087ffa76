"""What an operator's VM and host actions become in the leader's view (pure).

Each function checks the action against the view and returns what the leader must do, or
raises `OpRefused` with a one-line reason, a hint and a code (schemas.ops.RefusalCode).
Capacity checks against ntol (admission control) are separate: services.arbiter.admission.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.ops import RefusalCode
from services.arbiter.orchestrate import PLACEMENT_WORK_LIMIT, host_bin
from services.arbiter.view import (
    LivenessView,
    RestartOrdered,
    VmRecord,
    VmShutDownByAdmin,
)
from services.planner.restart import left_out_reason, place_items, vm_item


class OpRefused(Exception):
    def __init__(self, message: str, hint: str, code: RefusalCode = "conflict") -> None:
        super().__init__(message)
        self.hint, self.code = hint, code


def known_vm(view: LivenessView, name: str) -> VmRecord:
    vm = view.vms.get(name)
    if vm is None:
        known = ", ".join(sorted(view.vms)) or "none"
        raise OpRefused(f"no VM named {name!r} in the pool", f"known VMs: {known}", "invalid")
    return vm


def known_host(view: LivenessView, name: str) -> None:
    if name not in view.hosts:
        known = ", ".join(sorted(view.hosts))
        raise OpRefused(f"no host named {name!r} in the pool", f"known hosts: {known}", "invalid")


def start_order(
    view: LivenessView, members: Sequence[str], name: str, host: str | None
) -> RestartOrdered:
    """Where a halted VM starts: on `host` if given, else where the planner places it among
    the liveset members not in maintenance (a VM with local disks only on its own host). A
    `failed` VM (HA gave up on it) starts the same way; the start clears its count of tries."""
    vm = known_vm(view, name)
    if vm.state not in ("halted", "failed"):
        where = f" on {vm.host}" if vm.host else ""
        raise OpRefused(
            f"VM {name!r} is not halted (it is {vm.state}{where})",
            "only a halted VM can be started; see `haplan status`",
        )
    return _order_on(
        view, members, vm, host, "pick another host, or leave --on out to let the planner choose"
    )


def migration_source(view: LivenessView, members: Sequence[str], name: str, host: str) -> VmRecord:
    """Checks `haplan vm migrate VM HOST` against the view: the VM runs (it is stopped where
    it runs, and only once its exit is reported is it started on `host`), elsewhere than
    `host`, and `host` can take it now. Returns the VM as it runs (the stop's target)."""
    vm = known_vm(view, name)
    known_host(view, host)
    if vm.state != "running" or vm.host is None or vm.incarnation is None:
        raise OpRefused(
            f"VM {name!r} is not running (it is {vm.state})",
            "only a running VM migrates; start a halted one with `haplan vm start VM --on HOST`",
        )
    if vm.host == host:
        raise OpRefused(f"VM {name!r} already runs on {host}", "nothing to do")
    _order_on(view, members, vm, host, "pick another host")
    return vm


def migration_order(
    view: LivenessView, members: Sequence[str], name: str, host: str
) -> RestartOrdered:
    """The start on `host` of a migrating VM whose exit from its old host was just recorded
    (VmEvacuated): an operator's start, so audit verify reads it as one."""
    return _order_on(view, members, known_vm(view, name), host, "pick another host")


def _order_on(
    view: LivenessView, members: Sequence[str], vm: VmRecord, host: str | None, hint: str
) -> RestartOrdered:
    """The operator's start order of `vm` on `host` (None: where the planner places it)."""
    targets = [h for h in members if not view.hosts[h].excluded]
    if not vm.spec.agile and vm.spec.host is not None:
        targets = [h for h in targets if h == vm.spec.host]
    if host is not None:
        known_host(view, host)
        if host not in targets:
            raise OpRefused(
                f"host {host} cannot take VMs now (not a liveset member, in maintenance, or "
                "not the host of this VM's local disks)",
                hint,
            )
        targets = [host]
    bins = [host_bin(view, h) for h in targets]
    item = vm_item(vm.spec, tier=0)
    (slot,), _ = place_items([item], bins, PLACEMENT_WORK_LIMIT)
    if slot is None:
        reason = left_out_reason(item, bins, (None,), [item]) if bins else "no liveset member"
        raise OpRefused(
            f"VM {vm.name!r} cannot start: {reason}", "free memory or add a host", "refused"
        )
    target = bins[slot].name
    inc = view.hosts[target].incarnation
    assert inc is not None  # liveset members have joined
    return RestartOrdered(
        vm.name, target, inc, f"order-{view.orders_issued + 1}", by_operator=True
    )


def shutdown(view: LivenessView, name: str) -> VmShutDownByAdmin | VmRecord:
    """An admin shutdown: a VM waiting for a host is simply halted (the decision); a running
    one must be stopped on its host first (its record: the caller sends the stop order)."""
    vm = known_vm(view, name)
    if vm.state in ("restarting", "unplaceable", "failed"):
        return VmShutDownByAdmin(name)
    if vm.state == "halted":
        raise OpRefused(f"VM {name!r} is already halted", "nothing to do")
    if vm.state == "ordered" or vm.host is None or vm.incarnation is None:
        raise OpRefused(
            f"VM {name!r} is starting on {vm.host}",
            "shut it down once `haplan status` shows it running",
        )
    return vm
