"""A recording stand-in for the kernel's watchdog device (services.drivers.watchdog_linux.DeviceIO):
it answers the ioctls as the watchdog core would and records every call in order."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from services.drivers.watchdog_linux import (
    WATCHDOG_INFO,
    WDIOC_GETSUPPORT,
    WDIOC_GETTIMEOUT,
    WDIOC_SETTIMEOUT,
    WDIOF_MAGICCLOSE,
    WDIOF_SETTIMEOUT,
)

_INT = struct.Struct("=i")
NAMES = {WDIOC_GETSUPPORT: "GETSUPPORT", WDIOC_SETTIMEOUT: "SETTIMEOUT",
         WDIOC_GETTIMEOUT: "GETTIMEOUT"}  # fmt: skip


@dataclass
class FakeDevice:
    options: int = WDIOF_SETTIMEOUT | WDIOF_MAGICCLOSE
    timeout_s: int = 60
    # What the device makes of a requested timeout (hardware rounds or clamps).
    takes: dict[int, int] = field(default_factory=dict)
    refuse_open: bool = False
    refuse_set: bool = False
    refuse_write: bool = False
    calls: list[tuple[str, object]] = field(default_factory=list)
    armed: bool = False
    _fd: int = 7

    def open(self, path: Path) -> int:
        self.calls.append(("open", str(path)))
        if self.refuse_open:
            raise PermissionError(13, "Permission denied")
        self.armed = True
        return self._fd

    def ioctl(self, fd: int, request: int, arg: bytes) -> bytes:
        assert fd == self._fd
        name = NAMES.get(request)
        if name is None:
            raise OSError(25, "Inappropriate ioctl for device")
        if name == "GETSUPPORT":
            assert len(arg) == WATCHDOG_INFO.size
            self.calls.append(("ioctl", name))
            return WATCHDOG_INFO.pack(self.options, 0, b"Fake Watchdog")
        if name == "SETTIMEOUT":
            (asked,) = _INT.unpack(arg)
            self.calls.append(("ioctl", (name, asked)))
            if self.refuse_set:
                raise OSError(22, "Invalid argument")
            self.timeout_s = self.takes.get(asked, asked)
            return _INT.pack(self.timeout_s)
        self.calls.append(("ioctl", name))
        return _INT.pack(self.timeout_s)

    def write(self, fd: int, data: bytes) -> None:
        assert fd == self._fd
        if self.refuse_write:
            self.calls.append(("write refused", data))
            raise OSError(5, "Input/output error")
        self.calls.append(("write", data))

    def close(self, fd: int) -> None:
        assert fd == self._fd
        self.calls.append(("close", None))
        # The watchdog core stops the device on close only after the magic character.
        if self.calls[-2] == ("write", b"V"):
            self.armed = False
