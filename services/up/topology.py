"""Where `haplan up` keeps things: its runtime directory, claimed by one `up` at a time.

    RUN/up.lock              held (flock) by the live `haplan up`: the kernel drops it when
                             that process dies, however it dies
    RUN/up.json              the runtime file (services.up.runtime)
    RUN/control.sock         what `haplan fault` talks to
    RUN/logs/                one log per process, and up's own
    RUN/nats/                the private nats-server's JetStream data and log
    RUN/credentials/         its configuration and each NATS user's password, 0700 / 0600
                             (services.up.credentials)
    RUN/storage/shared/      the shared storage: heartbeat slots (ha/) and VM disks (disks/)
    RUN/storage/pulled       a plain file: every path below it fails (ENOTDIR)
    RUN/hosts/<host>/store   the host's mount of the shared storage: a symlink to shared/,
                             or to pulled/ while its storage cable is out

Everything but the lock is fresh for each run, and removed when `up` stops.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from services.up.runtime import RUNTIME_FILE, RuntimeFileError, read_record

LOCK_FILE = "up.lock"
CONTROL_SOCKET = "control.sock"
# sun_path is 108 bytes on Linux, including the terminating NUL.
MAX_SOCKET_PATH = 107


class RuntimeDirError(Exception):
    """The runtime directory cannot be used; the message says why and what to do."""


class AlreadyRunning(RuntimeDirError):
    def __init__(self, directory: Path, pid: int | None) -> None:
        who = f"pid {pid}" if pid is not None else "another process"
        super().__init__(
            f"haplan up is already running ({who}, runtime directory {directory}); "
            "stop it with Ctrl-C in its terminal, or use the one that runs"
        )
        self.pid = pid


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def runtime_file(self) -> Path:
        return self.root / RUNTIME_FILE

    @property
    def control(self) -> Path:
        return self.root / CONTROL_SOCKET

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def nats(self) -> Path:
        return self.root / "nats"

    @property
    def credentials(self) -> Path:
        return self.root / "credentials"

    @property
    def shared(self) -> Path:
        return self.root / "storage" / "shared"

    @property
    def pulled(self) -> Path:
        return self.root / "storage" / "pulled"

    def host_store(self, host: str) -> Path:
        return self.root / "hosts" / quote(host, safe="") / "store"

    def log(self, member: str) -> Path:
        return self.logs / f"{quote(member, safe='')}.log"

    def prepare(self, hosts: list[str]) -> None:
        """Lay out a fresh run: shared storage, the failing path, one store link per host."""
        self.logs.mkdir()
        self.nats.mkdir()
        self.shared.mkdir(parents=True)
        (self.shared / "ha").mkdir()
        (self.shared / "disks").mkdir()
        self.pulled.write_bytes(b"")
        self.pulled.chmod(0)
        for host in hosts:
            link = self.host_store(host)
            link.parent.mkdir(parents=True)
            link.symlink_to(self.shared)

    def plug_storage(self, host: str, plugged: bool) -> None:
        """Point the host's store at the shared storage or at the failing path, atomically
        (a reader sees one or the other, never no store)."""
        link = self.host_store(host)
        tmp = link.with_name(".store.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(self.shared if plugged else self.pulled)
        os.replace(tmp, link)

    def clear(self) -> None:
        """Remove everything of a run but the lock (held by the caller)."""
        for entry in self.root.iterdir():
            if entry.name == LOCK_FILE:
                continue
            if entry.is_dir() and not entry.is_symlink():
                # The pulled file has mode 0: only its directory's mode matters for removal.
                shutil.rmtree(entry, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()


class Claim:
    """The runtime directory, held by this process until `release()`."""

    def __init__(self, layout: Layout, lock_fd: int) -> None:
        self.layout, self._fd = layout, lock_fd

    def release(self, remove: bool = True) -> None:
        """Drop the lock; with `remove`, leave no file behind (the directory goes if empty)."""
        if remove:
            self.layout.clear()
            with contextlib.suppress(FileNotFoundError):
                (self.layout.root / LOCK_FILE).unlink()
        os.close(self._fd)
        if remove:
            with contextlib.suppress(OSError):
                self.layout.root.rmdir()


def _check_private(directory: Path) -> None:
    info = directory.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise RuntimeDirError(f"{directory} is not a directory; remove it and start again")
    if info.st_uid != os.getuid():
        raise RuntimeDirError(
            f"{directory} belongs to another user; set XDG_RUNTIME_DIR to a directory of yours"
        )
    if info.st_mode & 0o077:
        directory.chmod(0o700)


def claim(directory: Path) -> Claim:
    """Hold `directory` for this run: refuse when a live `haplan up` holds it, take over one
    a dead `up` left behind (its lock died with it), and clear what that one left."""
    layout = Layout(directory)
    if len(str(layout.control)) > MAX_SOCKET_PATH:
        raise RuntimeDirError(
            f"the runtime directory {directory} is too long a path for a unix socket; "
            "set XDG_RUNTIME_DIR to a shorter directory"
        )
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        _check_private(directory)
        fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise RuntimeDirError(f"cannot use {directory}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        try:
            record = read_record(directory)
        except RuntimeFileError:
            record = None
        raise AlreadyRunning(directory, record.pid if record else None) from None
    layout.clear()
    return Claim(layout, fd)
