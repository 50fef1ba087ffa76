"""The check for VMs an earlier incarnation left (services.collector.guarded_vms): bounded, and
run before a linux watchdog device is opened (docs/protocol.md, A new incarnation and the VMs
of earlier ones)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.collector import guarded_vms
from services.collector.devices import DeviceError, WatchdogChoice
from services.collector.guarded_vms import GuardedVMs
from services.common.timers import Timers

TIMERS = Timers.from_timeout(3.0)


@pytest.fixture
def hung_check(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The leftover check hangs (a hung store: Path.resolve, /proc reads) until released."""
    release = threading.Event()

    def hangs(host: str, disks: Path, wait_s: float) -> tuple[list[int], list[int]]:
        release.wait(120)
        return [], []

    monkeypatch.setattr(guarded_vms, "kill_leftover_vms", hangs)
    yield release
    release.set()


async def test_a_hung_leftover_check_counts_as_earlier_vms_alive(
    tmp_path: Path, hung_check: threading.Event
) -> None:
    """kill_leftovers on a check that never returns gives up after its deadline and answers
    None ("cannot check"), which the shell reports to the core as VMs alive; it does not
    hang the collector."""
    vms = GuardedVMs("lab1", tmp_path, TIMERS, "process", WatchdogChoice("process"),
                     now=time.monotonic(), fencing=lambda: False)  # fmt: skip
    try:
        alive = await asyncio.wait_for(vms.kill_leftovers(TIMERS.interval_s), 60)
        assert alive is None
    finally:
        await vms.disarm()


def test_a_linux_device_is_not_opened_while_earlier_vms_survive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--watchdog linux with a VM of an earlier incarnation that survives its kill: refused
    with one line before the device is opened (the path does not even exist: opening it would
    have been the refusal otherwise)."""
    monkeypatch.setattr(guarded_vms, "kill_leftover_vms", lambda h, d, w: ([4242], [4242]))
    with pytest.raises(DeviceError, match=r"not opened: 1 VM.* survive a kill"):
        GuardedVMs("lab1", tmp_path, TIMERS, "process", WatchdogChoice("linux", tmp_path / "x"),
                   now=time.monotonic(), fencing=lambda: False)  # fmt: skip


def test_a_linux_device_is_not_opened_when_the_leftover_check_hangs(
    tmp_path: Path, hung_check: threading.Event
) -> None:
    """The same when the check for leftovers hangs: "cannot check" counts as alive, and the
    refusal comes after the check's deadline, the device unopened."""
    with pytest.raises(DeviceError, match="not opened: cannot check"):
        GuardedVMs("lab1", tmp_path, TIMERS, "process", WatchdogChoice("linux", tmp_path / "x"),
                   now=time.monotonic(), fencing=lambda: False)  # fmt: skip
