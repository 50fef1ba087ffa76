"""The `libvirt` VM driver on libvirt's in-process test hypervisor (test:///default): starts
checked against the pool, kills confirmed, exits learnt from lifecycle events, leftovers of an
earlier incarnation destroyed, and a hung libvirt call that never blocks the caller."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas.pool import VM, LibvirtDomain
from services.drivers.base import VMExit
from services.drivers.vm_libvirt import LibvirtVMDriver
from tests.fixtures.libvirt import domain_xml, need_libvirt

URI = "test:///default"
WAIT_S = 30.0


def _wait_for(predicate: Callable[[], object], timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def _exits(driver: LibvirtVMDriver) -> list[VMExit]:
    found: list[VMExit] = []
    _wait_for(lambda: found.extend(driver.reap()) or found)
    return found


class Lab:
    """One test's domains on test:///default (shared by the process: unique names, all
    undefined at the end) and the pool's VMs the driver sees."""

    def __init__(self, store: Path) -> None:
        self.libvirt = need_libvirt()
        self.conn = self.libvirt.open(URI)
        self.store = store
        self.vms: dict[str, VM] = {}
        self.names: list[str] = []
        self.notified = threading.Event()
        self.drivers: list[LibvirtVMDriver] = []

    def vm(self, memory_mib: int = 256, vcpus: int = 1, define: bool = True,
           pool_vcpus: int | None = None, xml: str | None = None) -> str:  # fmt: skip
        name = f"vm-{uuid.uuid4().hex[:8]}"
        self.names.append(name)
        if define:
            self.conn.defineXML(domain_xml(name, memory_mib, vcpus))
        spec = LibvirtDomain(vcpus=pool_vcpus, xml=xml)
        self.vms[name] = VM(name=name, memory_mib=256, libvirt=spec)
        return name

    def driver(self) -> LibvirtVMDriver:
        d = LibvirtVMDriver(URI, lambda: self.vms, self.store, notify=self.notified.set)
        self.drivers.append(d)
        return d

    def active(self, name: str) -> bool:
        try:
            return bool(self.conn.lookupByName(name).isActive())
        except self.libvirt.libvirtError:
            return False  # not defined (yet)

    def close(self) -> None:
        for d in self.drivers:
            d.close()
        for name in self.names:
            try:
                dom = self.conn.lookupByName(name)
            except self.libvirt.libvirtError:
                continue
            if dom.isActive():
                dom.destroy()
            dom.undefine()
        self.conn.close()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(tmp_path)
    try:
        yield lab
    finally:
        lab.close()


def test_a_kill_destroys_the_domain_and_is_reported_once_confirmed(lab: Lab) -> None:
    """start runs the VM's domain; kill_all returns with the domain no longer active, the VM
    gone from running() and one `killed` exit for its instance."""
    vm = lab.vm()
    driver = lab.driver()
    driver.start(vm, "i-1")
    _wait_for(lambda: lab.active(vm))
    assert driver.running() == {vm: "i-1"}
    driver.kill_all()
    assert not lab.active(vm)
    assert driver.running() == {}
    assert _exits(driver) == [VMExit(vm, "i-1", "killed")]


def test_a_guest_shutdown_reaches_the_collector_through_the_lifecycle_event(lab: Lab) -> None:
    """A guest that shuts itself down (libvirt's STOPPED/SHUTDOWN event) is reported as a
    `guest-halt` (the poll alone could only say `crashed`), and the driver wakes its caller."""
    vm = lab.vm()
    driver = lab.driver()
    driver.start(vm, "i-1")
    _wait_for(lambda: lab.active(vm))
    lab.notified.clear()
    lab.conn.lookupByName(vm).shutdown()
    assert _exits(driver) == [VMExit(vm, "i-1", "guest-halt")]
    assert lab.notified.is_set()
    assert driver.running() == {}


def test_a_domain_that_disappears_is_reported_by_the_poll(lab: Lab) -> None:
    """A domain destroyed and undefined behind the driver's back is reported gone (the event
    says `killed`, and the poll would say `crashed`): never left running for ever."""
    vm = lab.vm()
    driver = lab.driver()
    driver.start(vm, "i-1")
    _wait_for(lambda: lab.active(vm))
    dom = lab.conn.lookupByName(vm)
    dom.destroy()
    dom.undefine()
    [exit_] = _exits(driver)
    assert (exit_.vm, exit_.instance) == (vm, "i-1")
    assert exit_.cause in ("killed", "crashed")


def test_an_admin_shutdown_stops_the_domain(lab: Lab) -> None:
    """shutdown() returns with the domain stopped and reports `admin-shutdown`."""
    vm = lab.vm()
    driver = lab.driver()
    driver.start(vm, "i-1")
    _wait_for(lambda: lab.active(vm))
    driver.shutdown(vm)
    assert not lab.active(vm)
    assert _exits(driver) == [VMExit(vm, "i-1", "admin-shutdown")]


@pytest.mark.parametrize(
    ("memory", "vcpus", "pool_vcpus", "says"),
    [
        (512, 1, None, "the pool gives it 256 MiB but libvirt domain"),
        (256, 2, 4, "the pool gives it 4 vCPUs but libvirt domain"),
    ],
)
def test_a_domain_unlike_its_pool_record_is_refused(
    lab: Lab, memory: int, vcpus: int, pool_vcpus: int | None, says: str
) -> None:
    """A domain whose memory or vCPUs differ from the VM's pool record is not started: the
    start fails with a line naming both figures, and the VM is not counted running."""
    vm = lab.vm(memory_mib=memory, vcpus=vcpus, pool_vcpus=pool_vcpus)
    driver = lab.driver()
    driver.start(vm, "i-1")
    failures: list[Any] = []
    _wait_for(lambda: failures.extend(driver.start_failures()) or failures)
    [failure] = failures
    assert (failure.vm, failure.instance) == (vm, "i-1")
    assert says in failure.reason and "make them agree" in failure.reason
    assert not lab.active(vm)
    assert driver.running() == {}


def test_an_unknown_domain_is_defined_from_the_xml_on_the_store(lab: Lab) -> None:
    """A VM whose domain this host does not know is defined from its `libvirt.xml` (a path
    inside the store) and started; without one, the start fails saying what to do."""
    vm = lab.vm(define=False, xml="domains/x.xml")
    (lab.store / "domains").mkdir()
    (lab.store / "domains" / "x.xml").write_text(domain_xml(vm, 256))
    bare = lab.vm(define=False)
    driver = lab.driver()
    driver.start(vm, "i-1")
    driver.start(bare, "i-2")
    _wait_for(lambda: lab.active(vm))
    failures: list[Any] = []
    _wait_for(lambda: failures.extend(driver.start_failures()) or failures)
    assert [f.vm for f in failures] == [bare]
    assert "has no domain" in failures[0].reason
    assert driver.running() == {vm: "i-1"}


def test_leftovers_of_an_earlier_incarnation_are_destroyed(lab: Lab) -> None:
    """Active domains of the pool's VMs that this driver did not start (an earlier collector
    left them) are destroyed; a domain outside the pool is left alone."""
    left, outsider = lab.vm(), f"other-{uuid.uuid4().hex[:8]}"
    lab.names.append(outsider)
    lab.conn.defineXML(domain_xml(outsider, 64)).create()
    lab.conn.lookupByName(left).create()
    found, alive = lab.driver().kill_leftovers(5.0)
    assert (found, alive) == ([left], [])
    assert not lab.active(left)
    assert lab.active(outsider)


class _Wedged:
    """A libvirt connection (or domain) whose calls named in `hang` wait until `release` is
    set before doing the real call (a wedged libvirtd, a QEMU that does not answer)."""

    def __init__(self, real: Any, hang: frozenset[str], release: threading.Event,
                 entered: threading.Event | None = None) -> None:  # fmt: skip
        self._real, self._hang, self._release = real, hang, release
        self.entered = entered or threading.Event()  # set once a call hangs

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._real, name)

        def wedged(*args: Any) -> Any:
            if name in self._hang:
                self.entered.set()
                self._release.wait()
            result = call(*args)
            if name == "lookupByName":
                return _Wedged(result, self._hang, self._release, self.entered)
            return result

        return wedged


def _start_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("libvirt-start-")]


def test_a_start_hung_in_libvirt_blocks_nobody_and_its_vm_is_not_confirmed_dead(
    lab: Lab,
) -> None:
    """With the domain's create() hanging, start(), running() and reap() still return at once,
    and the VM counts as running (it may run): a kill waits for the create rather than confirm
    a domain dead that is about to start, and confirms it once libvirt answers."""
    vm = lab.vm()
    driver = lab.driver()
    release = threading.Event()
    wedged = _Wedged(driver._conn, frozenset({"create"}), release)
    driver._conn = wedged
    try:
        driver.start(vm, "i-1")
        assert driver.running() == {vm: "i-1"}
        assert driver.reap() == []
        assert wedged.entered.wait(WAIT_S)
        killer = threading.Thread(target=driver.kill_all, daemon=True)
        killer.start()
        killer.join(1.0)
        assert killer.is_alive()
        assert driver.running() == {vm: "i-1"}
    finally:
        release.set()
    killer.join(WAIT_S)
    assert not killer.is_alive()
    assert not lab.active(vm)
    assert _exits(driver) == [VMExit(vm, "i-1", "killed")]


def test_a_kill_before_the_create_means_the_domain_never_starts(lab: Lab) -> None:
    """A kill while the start still waits on libvirt's lookup is confirmed at once (no create
    has been issued), and the start then never creates the domain."""
    vm = lab.vm()
    driver = lab.driver()
    release = threading.Event()
    driver._conn = _Wedged(driver._conn, frozenset({"lookupByName"}), release)
    try:
        driver.start(vm, "i-1")
        driver.kill_all()
        assert driver.running() == {}
        assert _exits(driver) == [VMExit(vm, "i-1", "killed")]
    finally:
        release.set()
    _wait_for(lambda: not _start_threads())
    assert not lab.active(vm)
