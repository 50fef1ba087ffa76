"""`haplan collector` with one VM that no kill reaches: the test seam for a kill that cannot be
confirmed (a VM stuck in the kernel, a process the collector may not signal).

Run as `python -m tests.integration.collector.unkillable collector ...` with
HAPLAN_TEST_UNKILLABLE_VM naming the VM. Its `process` VM instance is a real process writing
its disk, but in this collector process a signal to it is silently dropped (as a kill that
does not take), and its watchdog is never told to watch it. So the driver's kill waits for it
until its deadline, and a later incarnation's leftover killer cannot kill it either.
Everything else is the real collector.
"""

from __future__ import annotations

import os
from pathlib import Path

from services.cli.main import main
from services.drivers.vm_process import ProcessVMDriver

UNKILLABLE = os.environ["HAPLAN_TEST_UNKILLABLE_VM"]

_kill = os.kill
_start = ProcessVMDriver.start


def _is_unkillable(pid: int) -> bool:
    try:
        argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(Path(a.decode(errors="replace")).name == f"{UNKILLABLE}.log" for a in argv)


def _kill_but_one(pid: int, sig: int) -> None:
    if sig and _is_unkillable(pid):
        return
    _kill(pid, sig)


def _start_unwatched(self: ProcessVMDriver, vm: str, instance: str) -> None:
    _start(self, vm, instance)
    if vm == UNKILLABLE and self._watchdog is not None:
        self._watchdog.unwatch(self._vms[vm].proc.pid)


os.kill = _kill_but_one
ProcessVMDriver.start = _start_unwatched  # type: ignore[method-assign]

if __name__ == "__main__":
    main()
