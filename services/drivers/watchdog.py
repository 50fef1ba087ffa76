"""Watchdogs: what fences a host whose collector hangs or dies.

The collector pets its watchdog every heartbeat interval while its fencing table says "stay".
If the pets stop (the collector hung, deadlocked, was SIGSTOPped or fenced), the watchdog
kills the host's VMs at its deadline, before the arbiter may declare the host dead.
"""

from __future__ import annotations

import subprocess
import sys
from typing import IO, Protocol

from services.drivers.base import WATCHDOG_MODULE


class WatchdogLost(RuntimeError):
    """The watchdog is gone: nothing would fence this host if the collector hung."""


class Watchdog(Protocol):
    def pet(self, valid_for_s: float | None = None) -> None:
        """Push the deadline to `valid_for_s` from now (default: the watchdog's timeout)."""
    def watch(self, pid: int) -> None: ...
    def unwatch(self, pid: int) -> None: ...
    def fire(self) -> None:
        """Fence now: kill every watched VM without waiting for the deadline."""
    def disarm(self) -> None:
        """Clean stop: the watchdog ends without killing anything."""


class ProcessWatchdog:
    """A separate OS process (services.drivers.watchdog_process) fed over a pipe."""

    def __init__(self, timeout_s: float, name: str = "watchdog") -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", WATCHDOG_MODULE, "--timeout", str(timeout_s),
             "--name", name],
            stdin=subprocess.PIPE,
            # Its own session, so that signals aimed at the collector (SIGSTOP, Ctrl-C) do not
            # reach the process that must outlive a hung collector.
            start_new_session=True,
        )
        assert self._proc.stdin is not None
        self._pipe: IO[bytes] = self._proc.stdin

    @property
    def pid(self) -> int:
        return self._proc.pid

    def _send(self, line: str) -> None:
        try:
            self._pipe.write(line.encode() + b"\n")
            self._pipe.flush()
        except (BrokenPipeError, ValueError) as exc:
            raise WatchdogLost(f"the watchdog process {self._proc.pid} is gone") from exc

    def pet(self, valid_for_s: float | None = None) -> None:
        self._send("pet" if valid_for_s is None else f"pet {max(0.0, valid_for_s):.3f}")

    def watch(self, pid: int) -> None:
        self._send(f"watch {pid}")

    def unwatch(self, pid: int) -> None:
        self._send(f"unwatch {pid}")

    def fire(self) -> None:
        self._send("fire")
        self._proc.wait()

    def disarm(self) -> None:
        try:
            self._send("disarm")
        except WatchdogLost:
            return
        self._proc.wait()

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the watchdog to end (after firing or disarming); its exit status."""
        return self._proc.wait(timeout)

    def alive(self) -> bool:
        return self._proc.poll() is None
