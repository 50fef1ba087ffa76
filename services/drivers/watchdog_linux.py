"""`/dev/watchdog`: the kernel resets the machine when the pets stop (Documentation/watchdog/
watchdog-api.rst in the Linux tree).

Opening the device arms it. `LinuxWatchdog.open` then asks what it supports (WDIOC_GETSUPPORT),
sets its timeout (WDIOC_SETTIMEOUT, which also pets it) and reads back the timeout it took
(WDIOC_GETTIMEOUT). It refuses a device that cannot take a timeout, and one without the magic
close: such a device stops whenever its file is closed, so a crashed collector would leave
its VMs unguarded. Every system call goes through a `DeviceIO`, so tests can record them.

Killing VMs is the machine's reset; `watch`/`unwatch` have nothing to track. Only `disarm`
(the magic close: 'V', then close) stands the device down, and the collector calls it only on a
clean stop with no VM left running; every other end (a crash, a fence, a kill that failed)
closes the file without 'V' or not at all, and the device resets the host at its deadline.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import struct
from pathlib import Path
from typing import Protocol

from services.common.watchdog_timing import may_pet
from services.drivers.watchdog import WatchdogLost


def _ioc(direction: int, nr: int, size: int) -> int:
    # The generic _IOC encoding (x86, arm, arm64, riscv): dir << 30 | size << 16 | type << 8 | nr.
    return direction << 30 | size << 16 | ord("W") << 8 | nr


_READ, _WRITE = 2, 1
WATCHDOG_INFO = struct.Struct("=II32s")  # struct watchdog_info: options, firmware, identity
WDIOC_GETSUPPORT = _ioc(_READ, 0, WATCHDOG_INFO.size)
WDIOC_SETTIMEOUT = _ioc(_READ | _WRITE, 6, 4)
WDIOC_GETTIMEOUT = _ioc(_READ, 7, 4)
WDIOF_SETTIMEOUT = 0x0080
WDIOF_MAGICCLOSE = 0x0100
_INT = struct.Struct("=i")
MAGIC_CLOSE = b"V"
PET = b"\0"  # any byte but 'V' restarts the timer


class WatchdogUnfit(RuntimeError):
    """The device cannot guard this host as the timing needs; the message says why. `dog`
    is the device, still open and armed, when the refusal came after opening it."""

    def __init__(self, message: str, dog: LinuxWatchdog | None = None) -> None:
        super().__init__(message)
        self.dog = dog


class DeviceIO(Protocol):
    """The system calls the driver makes; `KERNEL` makes them for real."""

    def open(self, path: Path) -> int: ...
    def ioctl(self, fd: int, request: int, arg: bytes) -> bytes: ...
    def write(self, fd: int, data: bytes) -> None: ...
    def close(self, fd: int) -> None: ...


class KernelIO:
    def open(self, path: Path) -> int:
        # Only a character device: a pet or the magic close written into a file named by
        # mistake would overwrite its first byte (and a FIFO would block the open).
        if not stat.S_ISCHR(os.stat(path).st_mode):
            raise OSError(errno.ENODEV, "not a character device")
        return os.open(path, os.O_WRONLY | os.O_CLOEXEC | os.O_NOCTTY)

    def ioctl(self, fd: int, request: int, arg: bytes) -> bytes:
        return fcntl.ioctl(fd, request, arg)

    def write(self, fd: int, data: bytes) -> None:
        os.write(fd, data)

    def close(self, fd: int) -> None:
        os.close(fd)


KERNEL: DeviceIO = KernelIO()


class LinuxWatchdog:
    """An open, armed device with its timeout set; build with `LinuxWatchdog.open`."""

    def __init__(
        self, fd: int, device: Path, timeout_s: int, interval_s: float, io: DeviceIO
    ) -> None:
        self._fd: int | None = fd
        self.device, self.timeout_s, self._io = device, timeout_s, io
        self.interval_s = interval_s  # the pet rule's slack (services.common.watchdog_timing)
        self._fired = False
        self.skipped_pets = 0

    @classmethod
    def open(
        cls, device: Path, timeout_s: int, interval_s: float, io: DeviceIO = KERNEL
    ) -> LinuxWatchdog:
        """Open and arm `device` with a timeout of `timeout_s`, for a pool whose heartbeat
        interval is `interval_s`; the timeout it took is `.timeout_s`. Raises WatchdogLost
        (cannot open) or WatchdogUnfit; on WatchdogUnfit the device is left open and armed in
        `error.dog` for the caller to settle."""
        try:
            fd = io.open(device)
        except OSError as exc:
            raise WatchdogLost(f"cannot open {device}: {exc.strerror or exc}") from None
        dog = cls(fd, device, timeout_s, interval_s, io)
        try:
            dog.timeout_s = dog._take_timeout(timeout_s)
        except WatchdogUnfit as exc:
            raise WatchdogUnfit(str(exc), dog) from None
        return dog

    def _take_timeout(self, timeout_s: int) -> int:
        fd, io = self._require_open(), self._io
        try:
            options, _firmware, raw = WATCHDOG_INFO.unpack(
                io.ioctl(fd, WDIOC_GETSUPPORT, bytes(WATCHDOG_INFO.size))
            )
        except OSError as exc:
            raise WatchdogUnfit(f"{self.device} does not answer WDIOC_GETSUPPORT: "
                                f"{exc.strerror or exc}") from None  # fmt: skip
        identity = raw.split(b"\0", 1)[0].decode(errors="replace") or "a watchdog"
        if not options & WDIOF_SETTIMEOUT:
            raise WatchdogUnfit(f"{self.device} ({identity}) cannot set its timeout")
        if not options & WDIOF_MAGICCLOSE:
            raise WatchdogUnfit(
                f"{self.device} ({identity}) has no magic close: closing it (a crashed "
                "collector) would stop it"
            )
        try:
            io.ioctl(fd, WDIOC_SETTIMEOUT, _INT.pack(timeout_s))
            (taken,) = _INT.unpack(io.ioctl(fd, WDIOC_GETTIMEOUT, _INT.pack(0)))
        except OSError as exc:
            raise WatchdogUnfit(f"{self.device} ({identity}) refused a {timeout_s}s timeout: "
                                f"{exc.strerror or exc}") from None  # fmt: skip
        return int(taken)

    def _require_open(self) -> int:
        if self._fd is None:
            raise WatchdogLost(f"{self.device} is closed")
        return self._fd

    def pet(self, valid_for_s: float | None = None) -> None:
        """Restart the device's timer, but only if it then fires no later than one interval
        after `valid_for_s` from now (services.common.watchdog_timing.may_pet); None: pet
        unconditionally."""
        fd = self._require_open()
        if self._fired:
            return
        if valid_for_s is not None and not may_pet(valid_for_s, self.timeout_s, self.interval_s):
            self.skipped_pets += 1
            return
        try:
            self._io.write(fd, PET)
        except OSError as exc:
            raise WatchdogLost(f"cannot pet {self.device}: {exc.strerror or exc}") from None

    def watch(self, pid: int) -> None:
        pass

    def unwatch(self, pid: int) -> None:
        pass

    def fire(self) -> None:
        # Stop petting and never close cleanly: the device resets the host at its deadline.
        self._fired = True

    def disarm(self) -> None:
        """The magic close: the device stands down. Only for a clean stop with no VM left
        running (services.collector.guarded_vms); never after `fire`."""
        fd = self._require_open()
        if self._fired:
            raise WatchdogLost(f"{self.device} fired: it is not disarmed")
        self._fd = None
        try:
            try:
                self._io.write(fd, MAGIC_CLOSE)
            finally:
                self._io.close(fd)
        except OSError as exc:
            # Like every other failure of the device, a WatchdogLost: the callers handle
            # that one, and a raw OSError would crash a clean stop.
            raise WatchdogLost(f"{self.device} may not stand down (it then resets the host): "
                               f"{exc.strerror or exc}") from None  # fmt: skip

    def abandon(self) -> None:
        """Close without the magic character: the device stays armed and resets the host at
        its deadline unless someone opens and pets it first."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            self._io.close(fd)
