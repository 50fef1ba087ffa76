"""The `linux` watchdog driver and its set-up (services.drivers.watchdog_linux,
services.collector.devices.make_watchdog), every system call recorded by a fake device."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.collector.devices import DeviceError, WatchdogChoice, make_watchdog
from services.common.timers import Timers
from services.drivers.watchdog import WatchdogLost
from services.drivers.watchdog_linux import (
    WDIOC_GETSUPPORT,
    WDIOC_GETTIMEOUT,
    WDIOC_SETTIMEOUT,
    WDIOF_MAGICCLOSE,
    WDIOF_SETTIMEOUT,
    LinuxWatchdog,
)
from tests.unit.collector.fake_watchdog_device import FakeDevice

DEVICE = Path("/dev/watchdog9")
T30 = Timers.from_timeout(30.0)
SET_UP = [("open", str(DEVICE)), ("ioctl", "GETSUPPORT"), ("ioctl", ("SETTIMEOUT", 30)),
          ("ioctl", "GETTIMEOUT")]  # fmt: skip


def _linux(timeout_s: int | None = None) -> WatchdogChoice:
    return WatchdogChoice("linux", DEVICE, timeout_s)


def _open(fake: FakeDevice, timeout_s: int | None = None) -> LinuxWatchdog:
    dog = make_watchdog(_linux(timeout_s), T30, "lab1", io=fake)
    assert isinstance(dog, LinuxWatchdog)
    return dog


def test_the_request_codes_are_the_kernels() -> None:
    """The ioctl numbers are linux/watchdog.h's on the generic encoding (x86, arm64)."""
    assert (WDIOC_GETSUPPORT, WDIOC_SETTIMEOUT, WDIOC_GETTIMEOUT) == (
        0x80285700, 0xC0045706, 0x80045707
    )
    assert (WDIOF_SETTIMEOUT, WDIOF_MAGICCLOSE) == (0x80, 0x100)


def test_set_up_asks_support_sets_and_reads_back_the_default_timeout() -> None:
    """With no --watchdog-timeout and T = 30: open, GETSUPPORT, SETTIMEOUT 30 (floor T),
    GETTIMEOUT, in that order, and nothing else."""
    fake = FakeDevice()
    dog = _open(fake)
    assert fake.calls == SET_UP
    assert dog.timeout_s == 30 and fake.armed


def test_pets_only_while_the_device_fires_by_the_deadline_plus_one_interval() -> None:
    """T = 30 (I = 3), D = 20: a pet whose validity plus one interval is at least the device
    timeout writes one byte (the device fires by pet_until + I, before T_dead); a shorter
    one writes nothing."""
    fake = FakeDevice()
    dog = _open(fake, timeout_s=20)
    del fake.calls[:]
    dog.pet(33.0)
    dog.pet(17.0)
    dog.pet(16.9)
    dog.pet(0.0)
    assert fake.calls == [("write", b"\0"), ("write", b"\0")]
    assert dog.skipped_pets == 2


def test_after_firing_it_is_never_petted_nor_disarmed() -> None:
    """fire(): later pets write nothing and disarm refuses, so the device resets the host."""
    fake = FakeDevice()
    dog = _open(fake)
    del fake.calls[:]
    dog.fire()
    dog.pet(60.0)
    with pytest.raises(WatchdogLost, match="fired"):
        dog.disarm()
    assert fake.calls == [] and fake.armed


def test_disarm_is_the_magic_close() -> None:
    """disarm(): 'V' then close, and the device stands down; abandon() closes without 'V'."""
    fake = FakeDevice()
    _open(fake).disarm()
    assert fake.calls[-2:] == [("write", b"V"), ("close", None)] and not fake.armed
    other = FakeDevice()
    _open(other).abandon()
    assert other.calls[-1] == ("close", None) and ("write", b"V") not in other.calls
    assert other.armed


def test_a_magic_close_that_fails_is_a_lost_watchdog_and_leaves_it_armed() -> None:
    """disarm() whose 'V' the device refuses (EIO): WatchdogLost, the error the callers
    handle (a raw OSError crashed a clean stop), the file still closed, the device armed."""
    fake = FakeDevice()
    dog = _open(fake)
    fake.refuse_write = True
    with pytest.raises(WatchdogLost, match=r"may not stand down.*Input/output error"):
        dog.disarm()
    assert fake.calls[-2:] == [("write refused", b"V"), ("close", None)] and fake.armed


def test_a_refused_device_whose_magic_close_fails_is_one_line() -> None:
    """A device refused after opening whose stand-down fails: still the one-line DeviceError
    of the refusal, saying the device may stay armed."""
    fake = FakeDevice(takes={30: 45}, refuse_write=True)
    with pytest.raises(DeviceError, match=r"took a 45s.*may stay armed") as refused:
        _open(fake)
    assert "\n" not in str(refused.value) and fake.armed


@pytest.mark.parametrize(
    ("fake", "says"),
    [
        (FakeDevice(options=WDIOF_MAGICCLOSE), "cannot set its timeout"),
        (FakeDevice(options=WDIOF_SETTIMEOUT), "no magic close"),
        (FakeDevice(refuse_set=True), "refused a 30s timeout"),
        (FakeDevice(takes={30: 45}), "took a 45s timeout when asked for 30s"),
        (FakeDevice(takes={30: 2}), "would reset healthy hosts"),
    ],
)
def test_a_device_that_cannot_take_the_timeout_is_refused_and_stood_down(
    fake: FakeDevice, says: str
) -> None:
    """No WDIOF_SETTIMEOUT, no magic close, SETTIMEOUT failing, or an effective timeout out of
    [3 intervals, T]: a one-line DeviceError, never a pet, and (no VM running) the device
    closed with the magic character."""
    with pytest.raises(DeviceError, match=says) as refused:
        _open(fake)
    assert "\n" not in str(refused.value)
    assert ("write", b"\0") not in fake.calls
    if WDIOF_MAGICCLOSE & fake.options:
        assert fake.calls[-2:] == [("write", b"V"), ("close", None)] and not fake.armed


def test_a_refused_device_stays_armed_while_earlier_vms_may_run() -> None:
    """Refused after opening, and the second look finds VMs of an earlier incarnation that
    may live (here: the check before opening found none, the one after the refusal cannot
    tell): closed without the magic character, so it still resets the host, and the message
    says so."""
    fake = FakeDevice(refuse_set=True)
    answers = iter([None, "cannot check for VMs of an earlier incarnation"])
    with pytest.raises(DeviceError, match="stays armed"):
        make_watchdog(_linux(), T30, "lab1", lambda: next(answers), io=fake)
    assert fake.calls[-1] == ("close", None) and ("write", b"V") not in fake.calls
    assert fake.armed


def test_the_device_is_not_opened_while_earlier_vms_survive_their_kill() -> None:
    """Opening the device pets it (WDIOC_SETTIMEOUT), postponing the reset a crashed
    incarnation's device owes its unkillable VMs: while the leftovers' kill leaves any alive,
    make_watchdog refuses in one line and never touches the device."""
    fake = FakeDevice()
    with pytest.raises(DeviceError, match=r"not opened: 1 VM.* survive") as refused:
        make_watchdog(_linux(), T30, "lab1",
                      lambda: "1 VM(s) of an earlier incarnation survive a kill",
                      io=fake)  # fmt: skip
    assert "\n" not in str(refused.value)
    assert fake.calls == []


@pytest.mark.parametrize(("timeout_s", "says"), [(31, "T_dead 42s"), (8, "healthy hosts")])
def test_a_timeout_that_does_not_fit_t_is_refused_before_opening(timeout_s: int, says: str) -> None:
    """--watchdog-timeout outside [9, 30] with T = 30: refused without touching the device."""
    fake = FakeDevice()
    with pytest.raises(DeviceError, match=says):
        _open(fake, timeout_s=timeout_s)
    assert fake.calls == []


def test_a_device_that_cannot_be_opened_is_one_line() -> None:
    """open() failing: one line naming the device and the way out (--watchdog process)."""
    fake = FakeDevice(refuse_open=True)
    with pytest.raises(DeviceError, match=r"cannot open /dev/watchdog9: Permission denied.*"
                                          r"--watchdog process"):  # fmt: skip
        _open(fake)


def test_a_t_too_short_for_a_device_is_refused() -> None:
    """T = 0.5 s leaves no whole-second device timeout: refused before opening."""
    fake = FakeDevice()
    with pytest.raises(DeviceError, match="too short for a device watchdog"):
        make_watchdog(_linux(), Timers.from_timeout(0.5), "lab1", io=fake)
    assert fake.calls == []
