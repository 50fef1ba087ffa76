"""A real QEMU guest (TCG) through the libvirt driver as the collector wires it, on libvirt's
embedded QEMU driver (no daemon): the guest writes its disk on the store, the fence's kill is
confirmed (domain inactive, QEMU gone), and a guest that powers itself off reaches the
collector's loop through libvirt's lifecycle event alone (the poll is switched off)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas.messages import StartOrder
from schemas.pool import VM, LibvirtDomain
from services.collector.devices import LibvirtSetup, WatchdogChoice
from services.collector.guarded_vms import GuardedVMs
from services.common.timers import Timers
from services.drivers import ProcessWatchdog, vm_libvirt
from services.drivers.vm_libvirt import LibvirtVMDriver
from tests.fixtures import tiny_guest
from tests.fixtures.libvirt import need_libvirt
from tests.fixtures.tiny_guest import TinyGuest, disk_lines, embed_root

TIMERS = Timers.from_timeout(30.0)
# TCG: a boot to the first disk line takes 5-25 s, and over 100 s on a 2-core machine
# loaded 8 times over.
BOOT_S = 300.0


@pytest.fixture(scope="session")
def guest(tmp_path_factory: pytest.TempPathFactory) -> TinyGuest:
    """The tiny guest, built once per test session (per xdist worker)."""
    need_libvirt()
    lacking = tiny_guest.missing()
    if lacking is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the QEMU guest tests cannot run on this CI machine: {lacking}")
        pytest.skip(lacking)
    return tiny_guest.build(tmp_path_factory.mktemp("tiny-guest"))


async def _until(vms: GuardedVMs, check: Callable[[], object], timeout: float, what: str) -> None:
    """Wait for `check`, petting the watchdog as the collector's heartbeat loop does: it is
    given QEMU's pid and would kill the guest (as `crashed`) if left unpetted."""
    deadline = time.monotonic() + timeout
    while not check():
        now = time.monotonic()
        if now > deadline:
            raise AssertionError(f"not seen within {timeout:g}s: {what}")
        vms.pet(TIMERS.watchdog_deadline_s, now)
        await asyncio.sleep(0.1)


def _gone(pid: int) -> bool:
    """The process ended (a zombie awaiting its reaper has ended too)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def _destroy_everything(driver: LibvirtVMDriver) -> None:
    conn: Any = driver._conn
    for dom in conn.listAllDomains(0):
        with contextlib.suppress(Exception):
            if dom.isActive():
                dom.destroy()
        with contextlib.suppress(Exception):
            dom.undefine()
    driver.close()


@pytest.fixture
def embed() -> Iterator[Path]:
    """The embedded driver's root, removed even on failure. Short: QEMU's monitor sockets
    live under it, and a UNIX socket path has less than 108 bytes (pytest's tmp_path under
    xdist is too long)."""
    root = Path(tempfile.mkdtemp(prefix="haplan-embed-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "store"
    (root / "disks").mkdir(parents=True)
    (root / "domains").mkdir()
    yield root


async def test_a_qemu_guest_writes_its_disk_is_killed_confirmed_and_its_halt_is_an_event(
    tmp_path: Path, store: Path, embed: Path, guest: TinyGuest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Started from its XML on the store, the guest writes numbered lines to its disk; the
    fence's kill returns confirmed with the domain inactive and QEMU ended, reported `killed`.
    Restarted with an order to power off after 3 lines, its halt wakes the collector's loop
    and is reaped as `guest-halt` with the poll off: libvirt's event carried it; its 3 lines
    carry a new boot id."""
    monkeypatch.setattr(vm_libvirt, "POLL_S", 3600.0)
    disk = store / "disks" / "tiny.raw"
    disk.write_bytes(bytes(1 << 20))
    console = tmp_path / "console.log"
    (store / "domains" / "tiny.xml").write_text(guest.domain_xml("tiny", disk, console))
    pool = {"tiny": VM(name="tiny", memory_mib=tiny_guest.MEMORY_MIB,
                       libvirt=LibvirtDomain(vcpus=1, xml="domains/tiny.xml"))}  # fmt: skip
    loop = asyncio.get_running_loop()
    nudged = asyncio.Event()
    setup = LibvirtSetup(embed_root(embed), lambda: pool,
                         lambda: loop.call_soon_threadsafe(nudged.set))  # fmt: skip
    vms = GuardedVMs("lab1", store, TIMERS, "libvirt", WatchdogChoice("process"),
                     now=time.monotonic(), fencing=lambda: False, libvirt=setup)  # fmt: skip
    driver = vms.driver
    assert isinstance(driver, LibvirtVMDriver)
    try:
        now = time.monotonic()
        assert vms.start(StartOrder(order_id="o-1", vm="tiny", host="lab1",
                                    incarnation="i-1"), now) is None  # fmt: skip

        def written() -> bool:
            failed = vms.late_failures(time.monotonic())
            assert not failed, failed
            return len(disk_lines(disk)) >= 2

        await _until(vms, written, BOOT_S, "two lines on the guest's disk")
        first_boot = disk_lines(disk)[0][0]
        pid = driver._vms["tiny"].pid
        assert pid is not None and not _gone(pid)
        assert await vms.kill_all(fire=False)
        assert vms.running() == []
        assert not driver._conn.lookupByName("tiny").isActive()
        await _until(vms, lambda: _gone(pid), 30.0, "QEMU's process ended")
        assert [(e.vm, e.cause) for e in vms.reap(time.monotonic())] == [("tiny", "killed")]

        known = driver._conn.lookupByName("tiny").UUIDString()
        driver._conn.defineXML(guest.domain_xml("tiny", disk, console, 3, known))
        nudged.clear()
        assert vms.start(StartOrder(order_id="o-2", vm="tiny", host="lab1",
                                    incarnation="i-1"), time.monotonic()) is None  # fmt: skip
        exits: list[Any] = []

        def reaped() -> bool:
            if nudged.is_set():
                nudged.clear()
                exits.extend(vms.reap(time.monotonic()))
            return bool(exits)

        await _until(vms, reaped, BOOT_S, "the guest's own power-off reaped")
        assert [(e.vm, e.instance, e.cause) for e in exits] == [("tiny", "o-2", "guest-halt")]
        # The second boot wrote its 3 lines from the disk's start, over the first boot's.
        second = disk_lines(disk)[:3]
        assert [n for _boot, n in second] == [0, 1, 2]
        assert len({boot for boot, _n in second} | {first_boot}) == 2
    finally:
        _destroy_everything(driver)
        await vms.disarm()
        dog = vms.watchdog
        if isinstance(dog, ProcessWatchdog) and dog.alive():
            dog.fire()  # left armed (a VM still counted running): end it now
