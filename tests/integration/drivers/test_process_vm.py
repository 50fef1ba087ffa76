"""The `process` VM driver on real OS processes: disk log format, and why each instance ended."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.drivers import ProcessVMDriver, VMExit

# Generous: the waits end as soon as the outcome shows, also on a loaded 2-core machine.
WAIT_S = 30.0


def _wait_for(predicate: object, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def _exits(driver: ProcessVMDriver, timeout: float = WAIT_S) -> list[VMExit]:
    found: list[VMExit] = []
    _wait_for(lambda: bool(found.extend(driver.reap()) or found), timeout)
    return found


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[ProcessVMDriver]:
    disks = tmp_path / "disks"
    disks.mkdir()
    d = ProcessVMDriver(disks, "lab1")
    try:
        yield d
    finally:
        d.kill_all()


def test_running_vm_appends_time_host_and_instance_to_its_disk(driver: ProcessVMDriver) -> None:
    """A running instance appends `<unix-time-ns> <host> <instance>` lines to disks/<vm>.log."""
    started_ns = time.time_ns()
    driver.start("Minion 1", "i-1")
    disk = driver.disk_path("Minion 1")
    _wait_for(lambda: disk.exists() and len(disk.read_text().splitlines()) >= 3)
    lines = [line.split(" ") for line in disk.read_text().splitlines()]
    assert all(len(parts) == 3 for parts in lines)
    stamps = [int(parts[0]) for parts in lines]
    assert stamps == sorted(stamps)
    assert started_ns <= stamps[0] and stamps[-1] <= time.time_ns()  # this machine's time
    assert {(p[1], p[2]) for p in lines} == {("lab1", "i-1")}
    assert driver.running() == {"Minion 1": "i-1"}


def test_admin_shutdown_and_guest_halt_are_told_apart(driver: ProcessVMDriver) -> None:
    """An admin shutdown and a halt from inside the guest end with different causes."""
    driver.start("a", "i-a")
    driver.start("b", "i-b")
    driver.shutdown("a")
    driver.guest_halt("b")
    _wait_for(lambda: not driver.running())
    causes = {e.vm: e.cause for e in driver.reap()}
    assert causes == {"a": "admin-shutdown", "b": "guest-halt"}


def test_vm_that_loses_its_disk_exits(driver: ProcessVMDriver, tmp_path: Path) -> None:
    """When the store goes away, the instance stops instead of running without its disk."""
    driver.start("Minion 1", "i-1")
    disk = driver.disk_path("Minion 1")
    _wait_for(disk.exists)
    shutil.rmtree(tmp_path / "disks")
    assert [(e.vm, e.cause) for e in _exits(driver)] == [("Minion 1", "storage-lost")]


def test_kill_all_stops_every_vm_at_once(driver: ProcessVMDriver) -> None:
    """Fencing kills every VM of the host; each is reported as killed."""
    for name in ("a", "b", "c"):
        driver.start(name, f"i-{name}")
    driver.kill_all()
    assert driver.running() == {}
    assert sorted((e.vm, e.cause) for e in driver.reap()) == [
        ("a", "killed"),
        ("b", "killed"),
        ("c", "killed"),
    ]


def test_a_vm_cannot_start_twice_on_one_host(driver: ProcessVMDriver) -> None:
    """Starting a VM that already runs here is refused rather than making two writers."""
    driver.start("a", "i-1")
    with pytest.raises(RuntimeError, match="already runs here"):
        driver.start("a", "i-2")


def test_vm_names_that_cannot_be_disk_files_are_refused(driver: ProcessVMDriver) -> None:
    """A VM name with a slash would write outside the disks directory: refused."""
    with pytest.raises(ValueError, match="cannot name a disk file"):
        driver.start("../escape", "i-1")
