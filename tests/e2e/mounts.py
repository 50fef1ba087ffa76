"""Each host's own FUSE mount (bindfs) of one shared store directory.

A host's collector and VMs reach the shared storage only through their host's mount, so
SIGKILLing that host's bindfs is its storage cable pulled: every read and write through the
mount fails with ENOTCONN, as on a host that lost its iSCSI link, while the other hosts'
mounts keep working.

The host's store path is a symlink to its current mount. Plugging the cable back mounts a
fresh bindfs beside the dead one and swaps the symlink atomically, so that no write ever
lands in the bare directory under a mount (it would seem to succeed, on the host's own disk
only): a path opened afresh reaches either the dead mount or the new one.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path


def _mounted(point: Path) -> bool:
    # No resolve(): it would stat a dead FUSE mount.
    target = os.path.abspath(point)
    with open("/proc/mounts", encoding="utf-8") as mounts:
        return any(line.split()[1] == target for line in mounts)


def _detach(point: Path) -> None:
    if _mounted(point):
        subprocess.run(["umount", "-l", str(point)], capture_output=True, timeout=30)


class StoreMount:
    """`shared` seen at `point` (a symlink) through a bindfs of our own (`-f`: it stays our
    child, so a pull is a SIGKILL of exactly this host's mount)."""

    def __init__(self, shared: Path, base: Path) -> None:
        self.shared, self.base = shared, base
        self.point = base / "store"
        self.proc: subprocess.Popen[bytes] | None = None
        self._mounts: list[Path] = []
        base.mkdir(parents=True, exist_ok=True)

    @property
    def plugged(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def plug(self, timeout_s: float = 10.0) -> None:
        """Mount afresh and point the store path at the new mount; the dead one goes."""
        if self.plugged:
            return
        mount = self.base / f"mnt{len(self._mounts) + 1}"
        mount.mkdir()
        self._mounts.append(mount)
        proc = subprocess.Popen(
            ["bindfs", "-f", str(self.shared), str(mount)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while not _mounted(mount):
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"bindfs {mount} exited: {err.strip()}")
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"bindfs {mount} not mounted after {timeout_s:g} s")
            time.sleep(0.02)
        old, self.proc = self.proc, proc
        if old is not None and old.stderr is not None:
            old.stderr.close()
        swap = self.base / ".store.new"
        with contextlib.suppress(FileNotFoundError):
            swap.unlink()
        swap.symlink_to(mount)
        os.replace(swap, self.point)
        for dead in self._mounts[:-1]:
            _detach(dead)

    def pull(self) -> None:
        """The cable out: the FUSE daemon dies, the mount stays and fails every call."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def remove(self) -> None:
        """Unmount and stop bindfs, whatever state it is in."""
        self.pull()
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()
        for mount in self._mounts:
            _detach(mount)
            with contextlib.suppress(OSError):
                mount.rmdir()
        with contextlib.suppress(FileNotFoundError):
            self.point.unlink()


def leftover_mounts(under: Path) -> list[str]:
    root = os.path.abspath(under)
    with open("/proc/mounts", encoding="utf-8") as mounts:
        return [line.split()[1] for line in mounts if line.split()[1].startswith(root)]
