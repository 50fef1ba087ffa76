"""The store worker: blocking store calls off the event loop, each with a deadline, and no
queue behind a call that hangs."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from schemas.slot import Slot
from services.common.heartbeat_store import HeartbeatStore
from services.common.store_worker import StoreUnavailable, StoreWorker


def _slot(seq: int) -> Slot:
    return Slot(host="lab1", incarnation="i-1", seq=seq, uptime_s=0.0, lease_ok=True,
                store_ok=True)  # fmt: skip


async def test_a_cycle_writes_reads_back_and_lists_every_slot(tmp_path: Path) -> None:
    """One cycle writes this host's slot (read back) and returns every slot in the store."""
    store = HeartbeatStore(tmp_path)
    store.write(Slot(host="lab2", incarnation="j", seq=7, uptime_s=1.0, lease_ok=True,
                     store_ok=True))  # fmt: skip
    cycle = await StoreWorker(store).cycle(_slot(1), deadline_s=30, hosts=("lab1", "lab2"))
    assert cycle.written and cycle.problem is None and cycle.read_at is not None
    assert cycle.slots is not None
    assert sorted((s.host, s.seq) for s in cycle.slots) == [("lab1", 1), ("lab2", 7)]


async def test_an_unusable_store_is_a_failed_cycle_not_an_error(tmp_path: Path) -> None:
    """A store whose `ha` is not a directory fails the write and the listing, with the reason."""
    (tmp_path / "ha").write_text("a file\n")
    cycle = await StoreWorker(HeartbeatStore(tmp_path)).cycle(
        _slot(1), deadline_s=30, hosts=("lab1", "lab2")
    )
    assert not cycle.written and cycle.slots is None
    assert cycle.problem is not None and "slot write" in cycle.problem


async def test_a_hung_call_misses_its_deadline_and_nothing_queues_behind_it(
    tmp_path: Path,
) -> None:
    """A call that blocks fails at its deadline; while it stays stuck every later call fails at
    once without running; once it returns, calls work again."""
    worker = StoreWorker(HeartbeatStore(tmp_path))
    release = threading.Event()
    later_ran = threading.Event()
    with pytest.raises(StoreUnavailable, match="no answer"):
        await worker.call(release.wait, deadline_s=0.1)
    with pytest.raises(StoreUnavailable, match="still blocked"):
        await worker.call(later_ran.set, deadline_s=1)
    cycle = await worker.cycle(_slot(1), deadline_s=1, hosts=("lab1", "lab2"))
    assert not cycle.written and cycle.problem is not None and "still blocked" in cycle.problem
    release.set()
    back_by = time.monotonic() + 30  # generous: a loaded machine wakes the thread late
    while True:
        try:
            assert await worker.call(lambda: 42, deadline_s=30) == 42
            break
        except StoreUnavailable:
            assert time.monotonic() < back_by, "the worker never came back"
            threading.Event().wait(0.01)
    assert not later_ran.is_set(), "a call refused while the worker was stuck must never run"
