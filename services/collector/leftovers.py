"""VMs an earlier incarnation of this host left running, found and killed before joining.

A collector that was killed (SIGKILL, crash) leaves its `process` VMs behind: they run in their
own sessions so that signals aimed at the collector miss them. Its watchdog kills them at its
deadline, but a new incarnation may want to join before that, and its JoinRequest (and its
slot) promises that every earlier incarnation of the host is fenced. So it kills them first:
every `services.drivers.vm_instance` process of this host writing a disk in this store, and
it does not go on while any of them is still alive (the shell tries again every interval).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from services.drivers.base import VM_INSTANCE_MODULE

_PROC = Path("/proc")


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    return raw.decode(errors="replace").split("\0")


def _arg(argv: list[str], flag: str) -> str | None:
    try:
        return argv[argv.index(flag) + 1]
    except (ValueError, IndexError):
        return None


def leftover_vms(host: str, disks_dir: Path) -> list[int]:
    """Pids of VM instances of `host` whose disk lies in `disks_dir` (Linux /proc)."""
    disks = disks_dir.resolve()
    found = []
    for entry in _PROC.iterdir() if _PROC.is_dir() else ():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        argv = _cmdline(int(entry.name))
        if not argv or VM_INSTANCE_MODULE not in argv or _arg(argv, "--host") != host:
            continue
        disk = _arg(argv, "--disk")
        if disk is not None and Path(disk).resolve().parent == disks:
            found.append(int(entry.name))
    return found


def kill_leftover_vms(host: str, disks_dir: Path, wait_s: float) -> tuple[list[int], list[int]]:
    """SIGKILL the leftovers and wait up to `wait_s` until they are gone: (the pids found,
    the pids still alive)."""
    pids = leftover_vms(host, disks_dir)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and any(_running(pid) for pid in pids):
        time.sleep(0.02)
    return pids, [pid for pid in pids if _running(pid)]


def _running(pid: int) -> bool:
    # A killed child of ours stays a zombie until reaped; it writes nothing any more.
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
