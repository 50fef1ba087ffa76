"""The `libvirt` VM driver: each VM of the pool is a libvirt domain (KVM/QEMU guests).

A VM maps to the domain named as the VM, or as its pool record's `libvirt.domain`; a start
looks the domain up (defining it from `libvirt.xml` on the store when the host does not know
it), checks its memory and vCPUs against the pool's, and starts it. An admin stop is an ACPI
shutdown with a grace period, then a destroy; a kill is a destroy, confirmed by the domain no
longer being active.

The collector's event loop never waits on libvirt: `running()` and `reap()` read what this
driver holds in memory; starts run in a thread of their own (a failure is reported later,
`start_failures()`), and the collector runs shutdown and kill in deadline-bounded threads.
libvirt's lifecycle events (guest shutdown, crash, destroy, undefine) arrive on libvirt's
event-loop thread, are recorded here and announced to the collector's loop through
`call_soon_threadsafe` (`notify`); a slow poll of the running domains backs the events up.
A VM whose start did not return counts as running: it may run.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.pool import VM
from services.drivers.base import ExitCause, VMExit
from services.drivers.libvirt_events import ensure_event_loop, libvirt_module
from services.drivers.libvirt_pids import qemu_pid
from services.drivers.watchdog import Watchdog

DEFAULT_URI = "qemu:///system"
SHUTDOWN_GRACE_S = 6.0  # within the collector's 10 s bound on an admin stop
_CONFIRM_S = 0.05
POLL_S = 2.0
_ACTIVE = 1  # VIR_CONNECT_LIST_DOMAINS_ACTIVE


class LibvirtUnavailable(RuntimeError):
    """The driver cannot reach libvirt; the message says what to do."""


@dataclass
class _Instance:
    instance: str
    domain: str
    started: bool = False  # create() returned
    admin_stop: bool = False
    cancelled: bool = False  # killed or stopped before its create(): never create it
    guest_shutdown: bool = False  # libvirt said the guest itself shut down (the cause to come)
    pid: int | None = None
    # Held around create(): a kill waits for a create in flight instead of confirming a
    # domain dead that is about to start.
    creating: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True, slots=True)
class StartFailed:
    vm: str
    instance: str
    reason: str


class LibvirtVMDriver:
    def __init__(
        self,
        uri: str,
        vms: Callable[[], Mapping[str, VM]],
        store: Path,
        watchdog: Watchdog | None = None,
        notify: Callable[[], None] = lambda: None,
    ) -> None:
        """`vms`: the pool's VMs now; `notify`: called from libvirt's threads when something
        changed (the collector passes a `call_soon_threadsafe` into its own loop)."""
        self._libvirt = libvirt_module()
        ensure_event_loop()
        self.uri, self._vms_of, self._store = uri, vms, store
        self.watchdog, self._notify = watchdog, notify
        self._lock = threading.Lock()
        self._vms: dict[str, _Instance] = {}
        self._exits: list[VMExit] = []
        self._failed: list[StartFailed] = []
        try:
            self._conn = self._libvirt.open(uri)
        except self._libvirt.libvirtError as exc:
            raise LibvirtUnavailable(f"cannot open libvirt at {uri}: {_msg(exc)}") from None
        lifecycle = self._libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE
        self._callback = self._conn.domainEventRegisterAny(None, lifecycle, self._on_event, None)
        self._closed = threading.Event()
        threading.Thread(target=self._poll, name="libvirt-poll", daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(self._libvirt.libvirtError):
            self._conn.domainEventDeregisterAny(self._callback)
            self._conn.close()

    # The VMDriver contract -----------------------------------------------------------------

    def domain_name(self, vm: str) -> str:
        spec = self._vms_of().get(vm)
        if spec is not None and spec.libvirt is not None and spec.libvirt.domain is not None:
            return spec.libvirt.domain
        return vm

    def start(self, vm: str, instance: str) -> None:
        with self._lock:
            if vm in self._vms:
                raise RuntimeError(
                    f"VM {vm!r} already runs here as instance {self._vms[vm].instance}"
                )
            inst = _Instance(instance, self.domain_name(vm))
            self._vms[vm] = inst
        threading.Thread(
            target=self._start, args=(vm, inst), name=f"libvirt-start-{vm}", daemon=True
        ).start()

    def _start(self, vm: str, inst: _Instance) -> None:
        try:
            dom = self._domain(vm, inst.domain)
            problem = self._mismatch(vm, inst.domain, dom)
            if problem is not None:
                raise RuntimeError(problem)
            with inst.creating:
                if inst.cancelled:
                    return
                dom.create()
                inst.started = True
        except (self._libvirt.libvirtError, OSError, RuntimeError) as exc:
            reason = exc.args[0] if isinstance(exc, RuntimeError) else _msg(exc)
            with self._lock:
                if self._vms.get(vm) is inst:
                    del self._vms[vm]
                self._failed.append(StartFailed(vm, inst.instance, str(reason)))
            self._notify()
            return
        # The watchdog kills QEMU itself if the collector hangs (libvirt may hang with it).
        inst.pid = qemu_pid(self.uri, inst.domain)
        if inst.pid is not None and self.watchdog is not None:
            self.watchdog.watch(inst.pid)

    def _domain(self, vm: str, name: str) -> Any:
        try:
            return self._conn.lookupByName(name)
        except self._libvirt.libvirtError as exc:
            if exc.get_error_code() != self._libvirt.VIR_ERR_NO_DOMAIN:
                raise
            spec = self._vms_of().get(vm)
            if spec is None or spec.libvirt is None or spec.libvirt.xml is None:
                raise RuntimeError(
                    f"VM {vm!r}: libvirt at {self.uri} has no domain {name!r} (define it, or "
                    "give the VM's libvirt.xml in the pool)"
                ) from None
            return self._conn.defineXML((self._store / spec.libvirt.xml).read_text())

    def _mismatch(self, vm: str, name: str, dom: Any) -> str | None:
        spec = self._vms_of().get(vm)
        if spec is None:
            return None
        _state, max_kib, _mem, vcpus, _cpu = dom.info()
        if max_kib != spec.memory_mib * 1024:
            return (
                f"VM {vm!r}: the pool gives it {spec.memory_mib} MiB but libvirt domain "
                f"{name!r} has {max_kib / 1024:g} MiB; make them agree"
            )
        wanted = spec.libvirt.vcpus if spec.libvirt is not None else None
        if wanted is not None and vcpus != wanted:
            return (
                f"VM {vm!r}: the pool gives it {wanted} vCPUs but libvirt domain {name!r} "
                f"has {vcpus}; make them agree"
            )
        return None

    def shutdown(self, vm: str) -> None:
        """ACPI shutdown, then destroy after SHUTDOWN_GRACE_S (a guest without ACPI support
        ignores the button); returns once the domain is confirmed stopped."""
        with self._lock:
            inst = self._vms.get(vm)
            if inst is None:
                return
            inst.admin_stop = True
        dom = self._cancel(vm, inst)
        if dom is None:
            return
        # Not running any more, or no ACPI: the destroy below settles it.
        with contextlib.suppress(self._libvirt.libvirtError):
            dom.shutdown()
        try:
            if not self._stopped_within(dom, SHUTDOWN_GRACE_S):
                self._destroy(dom)
            self._confirm(vm, inst, dom, "admin-shutdown")
        except self._libvirt.libvirtError as exc:
            raise OSError(f"cannot stop domain {inst.domain!r}: {_msg(exc)}") from None

    def kill_all(self) -> None:
        """Destroy every domain this driver runs; returns once each is confirmed inactive
        (the collector bounds the wait). A VM whose domain stays active stays in `running()`."""
        with self._lock:
            doomed = list(self._vms.items())
        for vm, inst in doomed:
            dom = self._cancel(vm, inst)
            if dom is None:
                continue
            try:
                self._destroy(dom)
                self._confirm(vm, inst, dom, "killed")
            except self._libvirt.libvirtError as exc:
                raise OSError(f"cannot kill domain {inst.domain!r}: {_msg(exc)}") from None

    def _cancel(self, vm: str, inst: _Instance) -> Any:
        """No create() of `inst` happens after this (one in flight is waited for); its
        domain, or None when it never started or no longer exists (then it is reported)."""
        with inst.creating:
            inst.cancelled = True
            started = inst.started
        if not started:
            self._gone(vm, inst, "killed")
            return None
        try:
            return self._conn.lookupByName(inst.domain)
        except self._libvirt.libvirtError as exc:
            if exc.get_error_code() != self._libvirt.VIR_ERR_NO_DOMAIN:
                raise OSError(f"cannot find domain {inst.domain!r}: {_msg(exc)}") from None
        self._gone(vm, inst, "killed")
        return None

    def running(self) -> Mapping[str, str]:
        with self._lock:
            return {vm: i.instance for vm, i in self._vms.items()}

    def reap(self) -> list[VMExit]:
        with self._lock:
            exits, self._exits = self._exits, []
        return exits

    def start_failures(self) -> list[StartFailed]:
        """Starts that failed in their thread since the last call."""
        with self._lock:
            failed, self._failed = self._failed, []
        return failed

    def kill_leftovers(self, wait_s: float) -> tuple[list[str], list[str]]:
        """Destroy the active domains of the pool's VMs that this driver did not start (an
        earlier incarnation of the collector left them); the ones found and the ones still
        active `wait_s` later."""
        with self._lock:
            mine = {i.domain for i in self._vms.values()}
        pool = {self.domain_name(vm) for vm in self._vms_of()} - mine
        found = [d for d in self._conn.listAllDomains(_ACTIVE) if d.name() in pool]
        for dom in found:
            self._destroy(dom)
        alive = [d for d in found if not self._stopped_within(d, wait_s)]
        return [d.name() for d in found], [d.name() for d in alive]

    # Confirmations, events and the poll ----------------------------------------------------

    def _destroy(self, dom: Any) -> None:
        try:
            dom.destroy()
        except self._libvirt.libvirtError:
            if dom.isActive():
                raise

    def _stopped_within(self, dom: Any, seconds: float) -> bool:
        done = threading.Event()
        for _ in range(int(seconds / _CONFIRM_S)):
            if not dom.isActive():
                return True
            done.wait(_CONFIRM_S)
        return not dom.isActive()

    def _confirm(self, vm: str, inst: _Instance, dom: Any, cause: ExitCause) -> None:
        if not dom.isActive():
            self._gone(vm, inst, cause)

    def _gone(self, vm: str, inst: _Instance, cause: ExitCause) -> None:
        """The instance is confirmed stopped: reported once, whoever saw it first."""
        with self._lock:
            if self._vms.get(vm) is not inst:
                return
            del self._vms[vm]
            if inst.admin_stop:
                cause = "admin-shutdown"
            self._exits.append(VMExit(vm, inst.instance, cause))
        if inst.pid is not None and self.watchdog is not None:
            self.watchdog.unwatch(inst.pid)
        self._notify()

    def _on_event(self, _conn: Any, dom: Any, event: int, detail: int, _opaque: Any) -> None:
        lv = self._libvirt
        name = dom.name()
        with self._lock:
            found = [(vm, i) for vm, i in self._vms.items() if i.domain == name and i.started]
        if event == lv.VIR_DOMAIN_EVENT_SHUTDOWN and detail == lv.VIR_DOMAIN_EVENT_SHUTDOWN_GUEST:
            # The guest powered itself off; the STOPPED event that follows may say it was
            # destroyed (on_poweroff=destroy) or failed: the guest's own halt is the cause.
            for _vm, inst in found:
                inst.guest_shutdown = True
            return
        cause = _event_cause(lv, event, detail)
        if cause is None:
            return
        for vm, inst in found:
            self._gone(vm, inst, "guest-halt" if inst.guest_shutdown else cause)

    def _poll(self) -> None:
        """Catch what no event told (a lost event, a connection that dropped them)."""
        while not self._closed.wait(POLL_S):
            with self._lock:
                started = [(vm, i) for vm, i in self._vms.items() if i.started]
            for vm, inst in started:
                try:
                    state, reason = self._conn.lookupByName(inst.domain).state()
                except self._libvirt.libvirtError as exc:
                    if exc.get_error_code() == self._libvirt.VIR_ERR_NO_DOMAIN:
                        self._gone(vm, inst, "crashed")
                    continue
                if state == self._libvirt.VIR_DOMAIN_SHUTOFF:
                    # The reason libvirt kept: the same cause as its event would have given.
                    self._gone(vm, inst, _shutoff_cause(self._libvirt, reason))


def _event_cause(libvirt: Any, event: int, detail: int) -> ExitCause | None:
    """What a lifecycle event means for a running instance; None: it still runs."""
    if event == libvirt.VIR_DOMAIN_EVENT_STOPPED:
        if detail == libvirt.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN:
            return "guest-halt"
        if detail == libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED:
            return "killed"
        return "crashed"  # crashed, failed, saved or migrated away: not ours to run now
    # A crashed guest whose domain stays active (on_crash preserve) still holds its disk: it
    # runs until it is stopped; the poll reports a domain that disappeared.
    return None


def _shutoff_cause(libvirt: Any, reason: int) -> ExitCause:
    if reason == libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN:
        return "guest-halt"
    if reason == libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED:
        return "killed"
    return "crashed"


def _msg(exc: Any) -> str:
    getter = getattr(exc, "get_error_message", None)
    return str((getter() if getter is not None else None) or exc)
