"""The `linux` watchdog on a real kernel device: softdog, loaded with soft_noboot=1 so that a
firing only logs ("Triggered - Reboot ignored") and never reboots the machine.

Skips, with one line saying why, where softdog cannot be loaded (not root, no module, a
kernel without it), where it is loaded without soft_noboot=1 provably set, with nowayout, or
busy. Every test leaves the device stood down (magic close), even on failure.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.collector.devices import WatchdogChoice, make_watchdog
from services.common.timers import Timers
from services.drivers.watchdog_linux import LinuxWatchdog, WatchdogUnfit

SOFTDOG = Path("/sys/module/softdog")
WATCHDOGS = Path("/sys/class/watchdog")


def _param(name: str) -> str | None:
    try:
        return (SOFTDOG / "parameters" / name).read_text().strip()
    except OSError:
        return None


def _kernel_lacks_softdog() -> bool:
    try:
        with gzip.open("/proc/config.gz", "rt") as config:
            return "# CONFIG_SOFT_WATCHDOG is not set" in config.read()
    except OSError:
        return False


def _load_softdog() -> bool:
    """Load softdog with soft_noboot=1; True if this call loaded it. Skips when it cannot."""
    if SOFTDOG.exists():
        # soft_noboot is not always shown in sysfs: a softdog we did not load is used only
        # when it provably does not reboot.
        if _param("soft_noboot") not in ("1", "Y"):
            pytest.skip("softdog is loaded without a visible soft_noboot=1: a firing could reboot")
        return False
    if _kernel_lacks_softdog():
        pytest.skip("this kernel is built without softdog (CONFIG_SOFT_WATCHDOG is not set)")
    if os.geteuid() != 0:
        pytest.skip("softdog is not loaded and loading it needs root")
    if shutil.which("modprobe") is None:
        pytest.skip("softdog is not loaded and there is no modprobe")
    done = subprocess.run(["modprobe", "softdog", "soft_noboot=1"], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    if done.returncode != 0 or not SOFTDOG.exists():
        why = " ".join((done.stderr or done.stdout).split()) or f"status {done.returncode}"
        pytest.skip(f"softdog cannot be loaded here: {why}")
    return True


def _softdog_sysfs() -> Path:
    for entry in sorted(WATCHDOGS.glob("watchdog*")):
        with contextlib.suppress(OSError):
            if (entry / "identity").read_text().strip() == "Software Watchdog":
                return entry
    pytest.skip("softdog is loaded but no /sys/class/watchdog entry is it")


def _stand_down(device: Path) -> None:
    """Open and magic-close the device, so that no test leaves it armed."""
    with contextlib.suppress(OSError):
        fd = os.open(device, os.O_WRONLY)
        try:
            os.write(fd, b"V")
        finally:
            os.close(fd)


# softdog is one device per machine: test runs in parallel (pytest-xdist workers, other
# checkouts) take turns on it, or one would unload the module under another's open device.
# The lock is the machine's, like the device it guards.
DEVICE_LOCK = Path("/run/lock/haplan-softdog-tests.lock")


@contextlib.contextmanager
def _device_to_ourselves() -> Iterator[None]:
    DEVICE_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with DEVICE_LOCK.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # released when the file closes, even on a crash
        yield


@pytest.fixture(scope="module")
def softdog() -> Iterator[tuple[Path, Path]]:
    """(/dev/watchdogN, its sysfs directory) of a softdog that cannot reboot this machine,
    this run's alone while the module's tests run."""
    with _device_to_ourselves():
        yield from _softdog()


def _softdog() -> Iterator[tuple[Path, Path]]:
    loaded = _load_softdog()
    if _param("nowayout") in ("1", "Y"):
        pytest.skip("softdog has nowayout set: a test could not stand it down")
    sysfs = _softdog_sysfs()
    device = Path("/dev") / sysfs.name
    if not device.exists():
        pytest.skip(f"{device} does not exist")
    if (sysfs / "state").read_text().strip() == "active":
        pytest.skip(f"{device} is already active: someone else uses it")
    try:
        yield device, sysfs
    finally:
        _stand_down(device)
        if loaded:
            subprocess.run(["modprobe", "-r", "softdog"], capture_output=True, timeout=60)


def _state(sysfs: Path) -> str:
    return (sysfs / "state").read_text().strip()


def _triggered() -> int:
    log = subprocess.run(["dmesg"], capture_output=True, text=True, timeout=30).stdout
    return log.count("Triggered - Reboot ignored")


def test_the_timeout_is_set_read_back_and_the_magic_close_stands_it_down(
    softdog: tuple[Path, Path],
) -> None:
    """T = 10: the device takes 10 s (sysfs agrees), is active while open, pets pass, and
    disarm (the magic close) leaves it inactive."""
    device, sysfs = softdog
    try:
        dog = make_watchdog(WatchdogChoice("linux", device, None), Timers.from_timeout(10.0),
                            "lab1")  # fmt: skip
        assert isinstance(dog, LinuxWatchdog)
        assert dog.timeout_s == 10
        assert (sysfs / "timeout").read_text().strip() == "10"
        assert _state(sysfs) == "active"
        dog.pet(12.0)
        dog.disarm()
        assert _state(sysfs) == "inactive"
    finally:
        _stand_down(device)


def test_closed_without_the_magic_it_stays_armed_and_fires(softdog: tuple[Path, Path]) -> None:
    """T = 3 (device 3 s): abandoned (a crash's close), the device stays active and fires by
    itself (soft_noboot logs instead of rebooting)."""
    device, sysfs = softdog
    before = _triggered()
    try:
        dog = make_watchdog(WatchdogChoice("linux", device, 3), Timers.from_timeout(3.0), "lab1")
        assert isinstance(dog, LinuxWatchdog)
        dog.abandon()
        assert _state(sysfs) == "active"
        deadline = time.monotonic() + 30
        while _triggered() == before and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _triggered() > before, "softdog never fired"
    finally:
        _stand_down(device)


def test_a_timeout_the_kernel_refuses_is_refused(softdog: tuple[Path, Path]) -> None:
    """softdog refuses a 0 s timeout at WDIOC_SETTIMEOUT (make_watchdog would refuse it
    before opening, so the driver is asked directly): WatchdogUnfit names the refusal and
    holds the open device, which the magic close then stands down."""
    device, sysfs = softdog
    try:
        with pytest.raises(WatchdogUnfit, match="refused a 0s timeout") as refused:
            LinuxWatchdog.open(device, 0, 3.0)
        assert refused.value.dog is not None
        refused.value.dog.disarm()
        assert _state(sysfs) == "inactive"
    finally:
        _stand_down(device)
