"""VMs leaving their hosts: the reports of their exits, the stop orders still to carry out,
migrations, and the operator's actions that start them (the shell appends what they decide).
"""

from __future__ import annotations

from schemas.reports import StopOrder
from services.arbiter.core.memory import Decide, LeaderMemory
from services.arbiter.operator import (
    OpRefused,
    migration_order,
    migration_source,
    shutdown,
    start_order,
)
from services.arbiter.view import (
    Decision,
    Joined,
    RestartOrdered,
    VmEvacuated,
    VmLost,
    VmShutDownByAdmin,
    VmStartFailed,
    fold,
)
from services.arbiter.vm_reports import report_decision

# A VM that ran this many T before it stopped starts its count of tries anew (VmLost.stable):
# a VM that fails once a month is not a VM that fails in a loop.
STABLE_AFTER_T = 10.0


class Stops(LeaderMemory):
    """What the hosts report of their VMs, and the stops being carried out: an evacuated VM
    runs nowhere until its exit is recorded, and only then is it placed again."""

    # VM reports and stop orders (the tick) --------------------------------------------------

    def _vm_reports(self, now: float, decide: Decide) -> None:
        evacuating = {vm for vm, (_, why) in self._stops.items() if why == "evacuate"}
        since = self._ev.since if self._ev is not None else now
        stable = {
            vm
            for vm in self.view.vms
            if now - self._running_since.get(vm, since) >= STABLE_AFTER_T * self.timers.timeout_s
        }
        for name in sorted(self._reports):
            report = self._reports[name]
            while (d := report_decision(self.view, report, evacuating, stable)) is not None:
                decide(d)
                if isinstance(d, (VmStartFailed, VmLost)):
                    self.orchestra.failed(self.view.vms[d.vm], now)
                elif isinstance(d, VmEvacuated):
                    self._moved(d.vm, now, decide)
        self._reports.clear()

    def _moved(self, vm: str, now: float, decide: Decide) -> None:
        """An evacuated VM's exit is recorded: a migrating one is ordered onto its target
        now, if that host can still take it; any other (or that one, if not) is placed by the
        orchestrator as HA would, HA on or off."""
        target = self._migrations.pop(vm, None)
        if target is not None:
            try:
                order = migration_order(self.view, self.liveset(now), vm, target)
            except OpRefused:
                pass
            else:
                decide(order)
                return
        self._moving.add(vm)

    def _stop_orders(self) -> tuple[StopOrder, ...]:
        """Stops still to carry out, sent every interval until the VM's exit is recorded."""
        for vm_name, (order, _) in list(self._stops.items()):
            vm = self.view.vms.get(vm_name)
            if vm is None or (vm.state, vm.host, vm.incarnation) != (
                "running",
                order.host,
                order.incarnation,
            ):
                del self._stops[vm_name]
                self._migrations.pop(vm_name, None)
        return tuple(order for order, _ in self._stops.values())

    # Operator actions (the shell appends the decisions they return) -------------------------

    def plan_start(self, vm: str, host: str | None, now: float) -> RestartOrdered:
        """Where a halted VM would start (decided by `adopt` once admitted); raises OpRefused."""
        return start_order(self.view, self.liveset(now), vm, host)

    def adopt(self, decisions: list[Decision]) -> None:
        """Fold decisions made for an operator's action (the shell appends them)."""
        for d in decisions:
            self.view = fold(self.view, d)

    def stop_vm(self, vm: str, why: str = "admin") -> list[Decision]:
        """Stop a VM for an admin shutdown ("admin": it stays halted) or to move it off a host
        in maintenance ("evacuate"). A VM still waiting for a host is halted at once (the
        decision returned); a running one gets a stop order (no decision yet)."""
        outcome = shutdown(self.view, vm)
        if isinstance(outcome, VmShutDownByAdmin):
            self.view = fold(self.view, outcome)
            return [outcome]
        assert outcome.host is not None and outcome.incarnation is not None
        order = StopOrder(
            action="shutdown",
            order_id=f"stop-{outcome.instance or outcome.name}",
            vm=vm,
            host=outcome.host,
            incarnation=outcome.incarnation,
        )
        self._stops[vm] = (order, why)
        return []

    def migrate_vm(self, vm: str, host: str, now: float) -> None:
        """`haplan vm migrate VM HOST`: stop VM where it runs with a stop order, exactly as
        an evacuation does; only once its exit is reported (VmEvacuated) is it ordered to
        start on `host` (`_moved`), so it never runs on two hosts. Raises OpRefused."""
        migration_source(self.view, self.liveset(now), vm, host)
        if vm in self._stops:
            raise OpRefused(f"VM {vm!r} is already being stopped", "see `haplan status`")
        self.stop_vm(vm, "evacuate")
        self._migrations[vm] = host

    def enable_host(self, host: str) -> list[Decision]:
        """Take a host out of maintenance: its current incarnation joins the liveset again."""
        rec = self.view.hosts.get(host)
        if rec is None or not rec.excluded:
            raise OpRefused(f"host {host} is not in maintenance", "nothing to do")
        if rec.incarnation is None or rec.dead:
            raise OpRefused(
                f"host {host} has no live collector to join with",
                "start its collector; it joins by itself",
            )
        decision = Joined(host, rec.incarnation)
        self.view = fold(self.view, decision)
        return [decision]
