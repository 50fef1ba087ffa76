"""The collector's watchdog and VM driver, chosen by name (`--watchdog`, `--vm-driver`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from schemas.pool import VM
from services.common.timers import Timers
from services.common.watchdog_timing import default_device_timeout_s, device_timeout_problem
from services.drivers import LinuxWatchdog, ProcessVMDriver, ProcessWatchdog, SimVMDriver
from services.drivers.base import VMDriver
from services.drivers.vm_libvirt import DEFAULT_URI, LibvirtUnavailable, LibvirtVMDriver
from services.drivers.watchdog import Watchdog, WatchdogLost
from services.drivers.watchdog_linux import KERNEL, DeviceIO, WatchdogUnfit

WatchdogKind = Literal["process", "linux"]
VMDriverKind = Literal["sim", "process", "libvirt"]
LINUX_WATCHDOG_DEVICE = Path("/dev/watchdog")


class DeviceError(Exception):
    """A watchdog or driver that cannot be set up; the message says what to do."""


@dataclass(frozen=True)
class WatchdogChoice:
    """`--watchdog`, and for `linux` its device and timeout (None: the highest that fits T,
    services.common.watchdog_timing)."""

    kind: WatchdogKind = "process"
    device: Path = LINUX_WATCHDOG_DEVICE
    timeout_s: int | None = None


def make_watchdog(
    choice: WatchdogChoice,
    timers: Timers,
    host: str,
    earlier_vms: Callable[[], str | None] = lambda: None,
    io: DeviceIO = KERNEL,
) -> Watchdog:
    """An armed watchdog: the process one fires T + margin after start unless petted; the
    linux one D after its last pet, D checked against T before and after the device took it.
    `earlier_vms` kills the VMs an earlier incarnation of this host left (bounded) and says
    why some may still live (None: none does). Opening the device pets it (WDIOC_SETTIMEOUT),
    which would postpone the reset a crashed incarnation's device owes its unkillable VMs: so
    the device is not opened while any may live, and one refused after opening is then left
    armed rather than stood down."""
    if choice.kind == "process":
        return ProcessWatchdog(timers.watchdog_deadline_s, name=f"watchdog[{host}]")
    requested = choice.timeout_s
    if requested is None:
        requested = default_device_timeout_s(timers)
        if requested is None:
            raise DeviceError(
                f"ha.timeout_s {timers.timeout_s:g}s is too short for a device watchdog: no "
                "whole-second timeout fits it; use --watchdog process"
            )
    problem = device_timeout_problem(timers, requested)
    if problem is not None:
        raise DeviceError(f"--watchdog-timeout: {problem}")
    alive = earlier_vms()
    if alive is not None:
        raise DeviceError(
            f"the linux watchdog is not opened: {alive}; opening it would pet the device an "
            "earlier incarnation left armed to reset the host for them"
        )
    try:
        dog = LinuxWatchdog.open(choice.device, requested, timers.interval_s, io)
    except WatchdogLost as exc:
        raise DeviceError(
            f"the linux watchdog is not usable: {exc} (load a watchdog driver such as "
            "softdog and run as a user that may open it, or use --watchdog process)"
        ) from None
    except WatchdogUnfit as exc:
        left = _settle(exc.dog, earlier_vms)
        raise DeviceError(f"the linux watchdog is not usable: {exc}{left}") from None
    problem = device_timeout_problem(timers, dog.timeout_s)
    if problem is not None:
        left = _settle(dog, earlier_vms)
        raise DeviceError(
            f"{choice.device} took a {dog.timeout_s}s timeout when asked for {requested}s: "
            f"{problem}{left}"
        )
    return dog


def _settle(dog: LinuxWatchdog | None, earlier_vms: Callable[[], str | None]) -> str:
    """Stand a refused device down unless VMs of this host may still run (then it must reset
    the host); what became of it, for the refusal's message."""
    if dog is None:
        return ""
    alive = earlier_vms()
    if alive is not None:
        dog.abandon()
        return f"; {alive}, so the device stays armed"
    try:
        dog.disarm()
    except WatchdogLost as exc:
        return f"; it could not be stood down and may stay armed ({exc})"
    return ""


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


def driver_side(watchdog: Watchdog) -> Watchdog:
    return _DriverSide(watchdog)


@dataclass(frozen=True)
class LibvirtSetup:
    """What the libvirt driver needs beyond the store: its URI, the pool's VMs now, and how
    to wake the collector's loop from libvirt's threads."""

    uri: str = DEFAULT_URI
    vms: Callable[[], Mapping[str, VM]] = lambda: {}
    notify: Callable[[], None] = lambda: None


def make_driver(
    kind: VMDriverKind,
    store: Path,
    host: str,
    watchdog: Watchdog,
    libvirt: LibvirtSetup | None = None,
) -> VMDriver:
    if kind == "sim":
        return SimVMDriver()
    if kind == "libvirt":
        setup = libvirt or LibvirtSetup()
        try:
            return LibvirtVMDriver(
                setup.uri, setup.vms, store, _DriverSide(watchdog), setup.notify
            )
        except (ImportError, LibvirtUnavailable) as exc:
            raise DeviceError(str(exc)) from None
    # The disks directory is created at each start: the store may not be mounted yet.
    return ProcessVMDriver(disks_dir(store), host, _DriverSide(watchdog))


def disks_dir(store: Path) -> Path:
    return store / "disks"
