"""The collector's watchdog and VM driver, chosen by name (`--watchdog`, `--vm-driver`)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Literal

from services.common.timers import Timers
from services.drivers import LinuxWatchdog, ProcessVMDriver, ProcessWatchdog, SimVMDriver
from services.drivers.base import VMDriver
from services.drivers.watchdog import Watchdog, WatchdogLost

WatchdogKind = Literal["process", "linux"]
VMDriverKind = Literal["sim", "process"]
LINUX_WATCHDOG_DEVICE = Path("/dev/watchdog")


class DeviceError(Exception):
    """A watchdog or driver that cannot be set up; the message says what to do."""


def make_watchdog(kind: WatchdogKind, timers: Timers, host: str) -> Watchdog:
    """An armed watchdog: the process one fires T + margin after start unless petted."""
    if kind == "process":
        return ProcessWatchdog(timers.watchdog_deadline_s, name=f"watchdog[{host}]")
    try:
        return LinuxWatchdog(LINUX_WATCHDOG_DEVICE)
    except WatchdogLost as exc:
        raise DeviceError(
            f"the linux watchdog is not usable: {exc} (load a watchdog driver such as "
            "softdog and run as a user that may open it, or use --watchdog process)"
        ) from None


class _DriverSide:
    """The watchdog as the VM driver sees it: telling it about a VM never fails the VM's
    start or reap. A lost watchdog is the shell's business: it notices (the process is gone,
    or its deadline passed) and fences."""

    def __init__(self, watchdog: Watchdog) -> None:
        self._watchdog = watchdog

    def pet(self, valid_for_s: float | None = None) -> None:
        self._watchdog.pet(valid_for_s)

    def watch(self, pid: int) -> None:
        with contextlib.suppress(WatchdogLost):
            self._watchdog.watch(pid)

    def unwatch(self, pid: int) -> None:
        with contextlib.suppress(WatchdogLost):
            self._watchdog.unwatch(pid)

    def fire(self) -> None:
        self._watchdog.fire()

    def disarm(self) -> None:
        self._watchdog.disarm()


def make_driver(kind: VMDriverKind, store: Path, host: str, watchdog: Watchdog) -> VMDriver:
    if kind == "sim":
        return SimVMDriver()
    # The disks directory is created at each start: the store may not be mounted yet.
    return ProcessVMDriver(disks_dir(store), host, _DriverSide(watchdog))


def disks_dir(store: Path) -> Path:
    return store / "disks"
