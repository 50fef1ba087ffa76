"""Is `--store` the shared storage? Checked at start, and on each pass that it still is.

An NFS export that is not mounted leaves its mount point an ordinary directory of the host's
own disk: a collector writing there sees only its own slot, and each host believes the others
lost the store. So the store is never created (only its `ha/` and `disks/` inside), and unless
`--store-local` says it is a plain directory on purpose (a demo or a test on one machine), it
must be a mount point other than `/`: its device differs from its parent's (a symlink to a
mount counts as the mount: `DIR/..` is the parent of where it leads).

At start, what is certainly configuration is refused (StoreRefused: a missing store, a
reachable directory that is no mount point); a store that does not answer now (a dead mount, an
I/O error, no answer within the deadline, no directory there) is only unreachable: the collector
starts and the store counts as unreachable until it answers, as it would if it failed later.
Each pass (StoreRoot.check, in the store worker's thread) then checks that the store is the
filesystem it was: a device that changed (unmounted, or another filesystem mounted there) makes
the store unreachable for this pass (store_ok false; the collector's table decides).

The collector (`haplan collector --store`) and the arbiter (`haplan arbiter --store`, its own
reading of the slots: services.arbiter.own_store) check their mounts alike.
"""

from __future__ import annotations

import os
import stat
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path

# How long the start check waits for a hung mount before calling the store unreachable.
START_DEADLINE_S = 10.0


class StoreRefused(Exception):
    """`--store` cannot be the shared storage; the message is one line saying what to do."""


class NotShared(OSError):
    """The store is a directory, but not a mount point (and `--store-local` was not given)."""


@dataclass
class StoreRoot:
    """The store's root and the device it was on when first reached."""

    path: Path
    local: bool = False
    device: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def check(self) -> None:
        """OSError (saying why) when the store is not the filesystem it was, or, before it
        was ever reached, when it is not a directory or not a mount point. Blocks on a hung
        mount: run it where a store call runs (a store worker's thread)."""
        info = os.stat(self.path)
        if not stat.S_ISDIR(info.st_mode):
            raise NotADirectoryError(f"{self.path} is not a directory")
        with self._lock:
            if self.device is None:
                if not self.local:
                    _require_mount(self.path, info)
                self.device = info.st_dev
            elif info.st_dev != self.device:
                raise OSError(
                    f"{self.path} is no longer the filesystem it was at start (device "
                    f"{self.device:#x}, now {info.st_dev:#x}): unmounted or remounted"
                )


def _require_mount(path: Path, info: os.stat_result) -> None:
    parent = os.stat(os.path.join(path, ".."))
    if info.st_dev == parent.st_dev:  # `/` is its own parent: never a mount point here
        raise NotShared(
            f"--store {path} is not a mount point (same filesystem as its parent): mount "
            "the shared storage there, or give --store-local for a store on this machine only"
        )


def open_store(
    path: Path, local: bool, deadline_s: float = START_DEADLINE_S
) -> tuple[StoreRoot, str | None]:
    """The store's root, checked once at start, and why it is unreachable now (None: it
    answered). StoreRefused for a missing store or one that is not a mount point; a store
    that does not answer yet is returned unreached (its device is learned, and checked, on
    the first pass that reaches it)."""
    root = StoreRoot(path, local)
    done: Future[None] = Future()

    def probe() -> None:
        try:
            root.check()
            done.set_result(None)
        except BaseException as exc:
            done.set_exception(exc)

    # A daemon thread: a hung mount must not keep the collector from starting or exiting.
    threading.Thread(target=probe, name="store-check", daemon=True).start()
    try:
        done.result(deadline_s)
    except FileNotFoundError:
        raise StoreRefused(
            f"--store {path} does not exist: mount the shared storage there (haplan never "
            "creates it), or create it and give --store-local for a store on this machine only"
        ) from None
    except NotShared as exc:
        raise StoreRefused(str(exc)) from None
    except OSError as exc:
        return root, str(exc)
    except FutureTimeout:
        return root, f"no answer from {path} within {deadline_s:g} s"
    return root, None
