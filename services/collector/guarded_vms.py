"""The host's VMs and the watchdog that guards them, as the collector shell drives them.

The watchdog is armed from the start (T + margin) and petted every interval with the core's
validity (`Tick.pet_until`): while a member, what its stay verdict rests on; while joining, its
full deadline (no VM of this incarnation runs then), but a device (shared by every
incarnation) never while VMs of an earlier incarnation live. The shell asks `fired(now)` before
each evaluation: a deadline that passed means the collector hung past it, and a watchdog
process that is gone means nothing guards the VMs any more; either way the incarnation must
count as fenced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from schemas.messages import StartOrder
from schemas.reports import StartFailure
from services.collector.bounded import call_with_deadline, wait_with_deadline
from services.collector.devices import (
    LibvirtSetup,
    VMDriverKind,
    WatchdogChoice,
    disks_dir,
    driver_side,
    make_driver,
    make_watchdog,
)
from services.collector.leftovers import kill_leftover_vms
from services.collector.vms import VMRunner
from services.common.logging import get_logger
from services.common.timers import Timers
from services.drivers import ProcessVMDriver, ProcessWatchdog, VMExit
from services.drivers.vm_libvirt import LibvirtVMDriver
from services.drivers.vm_process import ensure_disks_dir
from services.drivers.watchdog import WatchdogLost

log = get_logger("haplan.collector")

# How long killing the VMs or stopping one may take before the shell stops waiting for it.
KILL_DEADLINE_S = 5.0
STOP_DEADLINE_S = 10.0
# How long finding the leftovers (resolving the store's disks, reading /proc) may take on top
# of the wait for their deaths: a hung store must not hang the collector.
SCAN_DEADLINE_S = 5.0
CANNOT_CHECK = "cannot check"


class _NoWatchdog:
    """The libvirt driver's watchdog until the real one is armed (nothing runs before)."""

    def pet(self, valid_for_s: float | None = None) -> None: ...
    def watch(self, pid: int) -> None: ...
    def unwatch(self, pid: int) -> None: ...
    def fire(self) -> None: ...
    def disarm(self) -> None: ...


class GuardedVMs:
    def __init__(
        self,
        host: str,
        store: Path,
        timers: Timers,
        vm_driver: VMDriverKind,
        watchdog: WatchdogChoice,
        now: float,
        fencing: Callable[[], bool],
        libvirt: LibvirtSetup | None = None,
    ) -> None:
        """`fencing` says whether the host has fenced or is stopping (the core's phase): its
        VMs' exits are then the fence's."""
        self.host, self.store, self.timers = host, store, timers
        self.kind = vm_driver

        def earlier_vms() -> str | None:
            if vm_driver == "sim":
                return None
            try:
                wait = timers.interval_s
                kill = self._kill_leftovers(wait)
                _found, alive = wait_with_deadline(kill, wait + SCAN_DEADLINE_S, "leftover-kill")
            except TimeoutError:
                return f"{CANNOT_CHECK} for VMs of an earlier incarnation: the check hangs"
            if alive:
                return f"{len(alive)} VM(s) of an earlier incarnation survive a kill"
            return None

        if vm_driver == "libvirt":
            # Opened first: the leftover check before a device watchdog opens asks libvirt.
            self.driver = make_driver(vm_driver, store, host, _NoWatchdog(), libvirt)
        self.watchdog = make_watchdog(watchdog, timers, host, earlier_vms)
        self.deadline: float | None = now + timers.watchdog_deadline_s
        if vm_driver == "libvirt":
            assert isinstance(self.driver, LibvirtVMDriver)
            self.driver.watchdog = driver_side(self.watchdog)
        else:
            self.driver = make_driver(vm_driver, store, host, self.watchdog)
        prepare = (lambda: ensure_disks_dir(store)) if vm_driver == "process" else None
        self.runner = VMRunner(self.driver, timers.timeout_s, fencing, prepare)

    def _kill_leftovers(
        self, wait_s: float
    ) -> Callable[[], tuple[Sequence[int | str], Sequence[int | str]]]:
        if self.kind == "libvirt":
            # Set before the watchdog is made, which may ask for the leftovers.
            driver = self.driver
            assert isinstance(driver, LibvirtVMDriver)
            return lambda: driver.kill_leftovers(wait_s)
        host, disks = self.host, disks_dir(self.store)
        return lambda: kill_leftover_vms(host, disks, wait_s)

    async def kill_leftovers(self, wait_s: float) -> Sequence[int | str] | None:
        """Kill the VMs an earlier incarnation of this host left running (before joining);
        the pids still alive `wait_s` later (empty: every one is confirmed dead), or None when
        the check itself did not return in time (a hung store or /proc: count them alive).
        They are pids (process driver) or domain names (libvirt)."""
        if not isinstance(self.driver, ProcessVMDriver | LibvirtVMDriver):
            return []
        try:
            found, alive = await call_with_deadline(
                self._kill_leftovers(wait_s), wait_s + SCAN_DEADLINE_S, "leftover-kill"
            )
        except TimeoutError:
            log.error(f"{CANNOT_CHECK} for VMs an earlier incarnation left: the check hangs")
            return None
        except OSError as exc:
            log.error(f"{CANNOT_CHECK} for VMs an earlier incarnation left", error=str(exc))
            return None
        if found and not alive:
            log.warning("killed VMs an earlier incarnation left running", pids=found)
        return alive

    def running(self) -> list[str]:
        return sorted(self.driver.running())

    def fired(self, now: float) -> bool:
        """Whether the watchdog fired (its deadline passed, or the process watchdog is gone):
        the shell then fences the core, and the VMs' exits become the fence's."""
        return (self.deadline is not None and now >= self.deadline) or (
            isinstance(self.watchdog, ProcessWatchdog) and not self.watchdog.alive()
        )

    def pet(self, valid_for_s: float, now: float) -> None:
        try:
            self.watchdog.pet(valid_for_s)
        except WatchdogLost as exc:
            log.error("the watchdog is gone", error=str(exc))
            return
        self.deadline = now + valid_for_s

    def start(self, order: StartOrder, now: float) -> StartFailure | None:
        failure = self.runner.start(order, now)
        if failure is None:
            log.info("VM started", vm=order.vm, instance=order.order_id)
        else:
            log.error("VM start failed", vm=order.vm, instance=order.order_id,
                      reason=failure.reason)  # fmt: skip
        return failure

    def reap(self, now: float) -> list[VMExit]:
        exits = self.runner.reap(now)
        for e in exits:
            log.info("VM stopped", vm=e.vm, instance=e.instance, cause=e.cause)
        return exits

    def late_failures(self, now: float) -> list[StartFailure]:
        """Starts that failed after `start` returned (the libvirt driver starts in a thread)."""
        failures = self.runner.late_failures(now)
        for f in failures:
            log.error("VM start failed", vm=f.vm, instance=f.instance, reason=f.reason)
        return failures

    async def shutdown(self, vm: str) -> None:
        """Admin shutdown of one VM (its driver gives it a grace period)."""
        try:
            await call_with_deadline(lambda: self.driver.shutdown(vm), STOP_DEADLINE_S,
                                     "vm-shutdown")  # fmt: skip
        except TimeoutError:
            log.error("the VM did not stop in time", vm=vm)
        except OSError as exc:
            log.error("the VM could not be stopped", vm=vm, error=str(exc))

    async def kill_all(self, fire: bool) -> bool:
        """Kill every VM now; with `fire`, through the watchdog too, which kills them even
        when the driver is wedged. Whether the driver's kill returned in time (the caller
        still checks that none runs before it counts them dead). The caller has fenced the
        core first, so their exits are reported as `fenced`, never as VMs lost on a healthy
        host."""
        if fire:
            try:
                await call_with_deadline(self.watchdog.fire, KILL_DEADLINE_S, "watchdog-fire")
            except (WatchdogLost, TimeoutError) as exc:
                log.warning("the watchdog could not be fired", error=str(exc) or "timeout")
        try:
            await call_with_deadline(self.driver.kill_all, KILL_DEADLINE_S, "vm-kill")
        except TimeoutError:
            log.error("the VMs did not die in time", vms=self.running())
            return False
        except OSError as exc:
            log.error("killing the VMs failed", error=str(exc), vms=self.running())
            return False
        return True

    async def disarm(self) -> None:
        """Clean stop: the watchdog stands down without killing anything, but only once no VM
        is left running (for the linux device: the magic close). Any other end leaves it armed:
        it then fires at its deadline."""
        if self.running():
            log.error("VMs still run: the watchdog stays armed", vms=self.running())
            return
        try:
            await call_with_deadline(self.watchdog.disarm, KILL_DEADLINE_S, "watchdog-disarm")
        except TimeoutError:
            log.warning("the watchdog did not stand down in time")
        except WatchdogLost as exc:
            log.warning("the watchdog did not stand down", error=str(exc))
