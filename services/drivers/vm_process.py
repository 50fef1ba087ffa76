"""The `process` VM driver: each VM instance is an OS process writing its disk on the store."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from schemas.limits import DISK_LOG_SUFFIX
from services.drivers.base import (
    EXIT_GUEST_HALT,
    EXIT_STORAGE_LOST,
    HANDLED_SIGNALS,
    VM_INSTANCE_MODULE,
    ExitCause,
    VMExit,
)
from services.drivers.watchdog import Watchdog, WatchdogLost

_GRACE_S = 2.0


@dataclass
class _Instance:
    instance: str
    proc: subprocess.Popen[bytes]
    admin_stop: bool = False


class ProcessVMDriver:
    """Runs VMs as child processes; tells the watchdog about each one so it can kill them."""

    def __init__(self, disks_dir: Path, host: str, watchdog: Watchdog | None = None) -> None:
        self._disks = disks_dir
        self._host = host
        self._watchdog = watchdog
        self._vms: dict[str, _Instance] = {}

    def disk_path(self, vm: str) -> Path:
        if "/" in vm or "\0" in vm or vm in ("", ".", ".."):
            raise ValueError(f"VM name {vm!r} cannot name a disk file")
        return self._disks / (vm + DISK_LOG_SUFFIX)

    def start(self, vm: str, instance: str) -> None:
        if vm in self._vms:
            raise RuntimeError(f"VM {vm!r} already runs here as instance {self._vms[vm].instance}")
        disk = self.disk_path(vm)
        proc = subprocess.Popen(
            [sys.executable, "-m", VM_INSTANCE_MODULE, "--disk", str(disk),
             "--host", self._host, "--instance", instance],
            stdin=subprocess.DEVNULL,
            # Its own session: a Ctrl-C or signal aimed at the collector's group must not
            # reach the VMs; only the watchdog or an explicit order stops them.
            start_new_session=True,
            preexec_fn=_block_stop_signals,
        )
        self._vms[vm] = _Instance(instance, proc)
        if self._watchdog is not None:
            self._watchdog.watch(proc.pid)

    def shutdown(self, vm: str) -> None:
        inst = self._vms.get(vm)
        if inst is None:
            return
        inst.admin_stop = True
        inst.proc.send_signal(signal.SIGTERM)
        try:
            inst.proc.wait(_GRACE_S)
        except subprocess.TimeoutExpired:
            inst.proc.kill()
            inst.proc.wait()

    def guest_halt(self, vm: str) -> None:
        """Make the guest halt itself (as an operator typing `halt` inside the VM would)."""
        inst = self._vms.get(vm)
        if inst is not None:
            inst.proc.send_signal(signal.SIGUSR1)

    def kill_all(self) -> None:
        for inst in self._vms.values():
            if inst.proc.poll() is None:
                inst.proc.kill()
        for inst in self._vms.values():
            inst.proc.wait()

    def running(self) -> Mapping[str, str]:
        return {vm: i.instance for vm, i in self._vms.items() if i.proc.poll() is None}

    def pids(self) -> list[int]:
        return [i.proc.pid for i in self._vms.values() if i.proc.poll() is None]

    def reap(self) -> list[VMExit]:
        exits: list[VMExit] = []
        for vm, inst in list(self._vms.items()):
            code = inst.proc.poll()
            if code is None:
                continue
            del self._vms[vm]
            if self._watchdog is not None:
                # A watchdog that fired is gone; the exit must still be reported.
                with contextlib.suppress(WatchdogLost):
                    self._watchdog.unwatch(inst.proc.pid)
            exits.append(VMExit(vm, inst.instance, _cause(code, inst.admin_stop)))
        return exits


def _block_stop_signals() -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_SIGNALS)


def _cause(code: int, admin_stop: bool) -> ExitCause:
    if admin_stop:
        return "admin-shutdown"
    if code == EXIT_GUEST_HALT:
        return "guest-halt"
    if code == EXIT_STORAGE_LOST:
        return "storage-lost"
    if code < 0 or code == 128 + signal.SIGKILL:
        return "killed"
    return "crashed"


def ensure_disks_dir(store: Path) -> Path:
    disks = store / "disks"
    # `disks/` only, never the store itself: a missing store is an unmounted one.
    disks.mkdir(exist_ok=True)
    return disks
