"""The store's checks (services.common.store_root): at start a store must exist and be a
mount point unless it is declared local; on each pass it must still be the filesystem it was.
Real directories and mounts of this machine (/proc is a mount point on every Linux)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from schemas.slot import Slot
from services.common.heartbeat_store import HeartbeatStore
from services.common.store_root import StoreRefused, StoreRoot, open_store
from services.common.store_worker import StoreWorker

MOUNTED = Path("/proc")


def test_a_plain_directory_is_refused_unless_declared_local(tmp_path: Path) -> None:
    """A temporary directory is no mount point: refused with one line naming --store-local;
    with --store-local it is accepted and its device remembered."""
    with pytest.raises(StoreRefused) as refused:
        open_store(tmp_path, local=False)
    assert "not a mount point" in str(refused.value) and "--store-local" in str(refused.value)
    assert "\n" not in str(refused.value)
    root, unreachable = open_store(tmp_path, local=True)
    assert unreachable is None and root.device == os.stat(tmp_path).st_dev


def test_a_missing_store_is_refused_and_never_created(tmp_path: Path) -> None:
    """A store that does not exist is refused, local or not, and nothing is created."""
    missing = tmp_path / "nfs" / "haplan"
    for local in (False, True):
        with pytest.raises(StoreRefused) as refused:
            open_store(missing, local=local)
        assert "does not exist" in str(refused.value)
    assert not (tmp_path / "nfs").exists()


def test_a_mount_point_is_accepted_and_the_root_is_not() -> None:
    """A mount point (/proc) is a store; `/` is refused (it is no shared storage)."""
    root, unreachable = open_store(MOUNTED, local=False)
    assert unreachable is None and root.device == os.stat(MOUNTED).st_dev
    with pytest.raises(StoreRefused, match="not a mount point"):
        open_store(Path("/"), local=False)


def test_a_symlink_to_a_mount_counts_as_the_mount(tmp_path: Path) -> None:
    """A store path that is a symlink to a mount point (how the lab swaps mounts) is one."""
    link = tmp_path / "store"
    link.symlink_to(MOUNTED)
    root, unreachable = open_store(link, local=False)
    assert unreachable is None and root.device == os.stat(MOUNTED).st_dev


def test_a_store_that_does_not_answer_at_start_is_unreachable_not_refused(
    tmp_path: Path,
) -> None:
    """A store path leading to no directory (haplan up's pulled storage cable) does not stop
    the start: it is returned unreached, with why; its device is learned on the first pass
    that reaches it."""
    pulled = tmp_path / "pulled"
    pulled.write_bytes(b"")
    link = tmp_path / "store"
    link.symlink_to(pulled)
    root, unreachable = open_store(link, local=True)
    assert root.device is None and unreachable is not None and "not a directory" in unreachable
    shared = tmp_path / "shared"
    shared.mkdir()
    link.unlink()
    link.symlink_to(shared)
    root.check()
    assert root.device == os.stat(shared).st_dev


def test_a_store_unreached_at_start_must_still_be_a_mount_when_reached(tmp_path: Path) -> None:
    """A store that did not answer at start and is later a plain directory (an NFS mount gone,
    its mount point left) fails its pass as no mount point, and learns no device."""
    root = StoreRoot(tmp_path, local=False)
    with pytest.raises(OSError, match="not a mount point"):
        root.check()
    assert root.device is None


def _slot() -> Slot:
    return Slot(host="lab1", incarnation="i1", seq=1, uptime_s=1.0, lease_ok=True, store_ok=True)


async def test_another_filesystem_under_the_store_makes_it_unreachable(tmp_path: Path) -> None:
    """The store path now leads to another filesystem than at start (unmounted, remounted):
    the pass neither writes nor reads, and says why; back on the first one, it works."""
    shared = tmp_path / "shared"
    shared.mkdir()
    link = tmp_path / "store"
    link.symlink_to(shared)
    root, _ = open_store(link, local=True)
    worker = StoreWorker(HeartbeatStore(link), root)
    assert (await worker.cycle(_slot(), deadline_s=10, hosts=("lab1",))).written
    link.unlink()
    link.symlink_to(MOUNTED)
    cycle = await worker.cycle(_slot(), deadline_s=10, hosts=("lab1",))
    assert not cycle.written and cycle.slots is None
    assert cycle.problem is not None and "no longer the filesystem it was" in cycle.problem
    assert await worker.write(_slot(), deadline_s=10) is not None
    link.unlink()
    link.symlink_to(shared)
    assert (await worker.cycle(_slot(), deadline_s=10, hosts=("lab1",))).written


def test_the_slot_directory_is_made_but_never_the_store(tmp_path: Path) -> None:
    """Writing a slot creates `ha/` inside an existing store, and fails (OSError) when the
    store itself is missing rather than creating it."""
    HeartbeatStore(tmp_path).write(_slot())
    assert (tmp_path / "ha").is_dir()
    with pytest.raises(FileNotFoundError):
        HeartbeatStore(tmp_path / "unmounted").write(_slot())
    assert not (tmp_path / "unmounted").exists()
