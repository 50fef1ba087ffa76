"""Each host's own FUSE mount (bindfs) of one shared store directory.

A host's collector and VMs reach the shared storage only through their host's mount, so
SIGKILLing that host's bindfs is its storage cable pulled: every read and write through the
mount fails with ENOTCONN, as on a host that lost its iSCSI link, while the other hosts'
mounts keep working. Plugging it back lazily detaches the dead mount and mounts again at
the same path, so a path opened afresh reaches the store again.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path


def _mounted(point: Path) -> bool:
    target = str(point.resolve())
    with open("/proc/mounts", encoding="utf-8") as mounts:
        return any(line.split()[1] == target for line in mounts)


class StoreMount:
    """`shared` seen at `point` through a bindfs of our own (`-f`: it stays our child, so a
    pull is a SIGKILL of exactly this host's mount)."""

    def __init__(self, shared: Path, point: Path) -> None:
        self.shared, self.point = shared, point
        self.proc: subprocess.Popen[bytes] | None = None
        point.mkdir(parents=True, exist_ok=True)

    @property
    def plugged(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def plug(self, timeout_s: float = 10.0) -> None:
        self._detach()
        self.proc = subprocess.Popen(
            ["bindfs", "-f", str(self.shared), str(self.point)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while not _mounted(self.point):
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"bindfs {self.point} exited: {err.strip()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"bindfs {self.point} not mounted after {timeout_s:g} s")
            time.sleep(0.02)

    def pull(self) -> None:
        """The cable out: the FUSE daemon dies, the mount stays and fails every call."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def _detach(self) -> None:
        if _mounted(self.point):
            subprocess.run(["umount", "-l", str(self.point)], capture_output=True, timeout=30)

    def remove(self) -> None:
        """Unmount and stop bindfs, whatever state it is in."""
        self.pull()
        self._detach()
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()
        with contextlib.suppress(OSError):
            self.point.rmdir()


def leftover_mounts(under: Path) -> list[str]:
    root = str(under.resolve())
    with open("/proc/mounts", encoding="utf-8") as mounts:
        return [line.split()[1] for line in mounts if line.split()[1].startswith(root)]
