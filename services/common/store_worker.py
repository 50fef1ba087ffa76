"""The heartbeat store's blocking calls, off the event loop, each with a deadline.

A hung NFS mount blocks a `write` or a directory listing for as long as it likes. The calls run
in one daemon thread; a call that misses its deadline counts as a store failure, and while the
thread is still stuck in it, every later call fails at once instead of queueing behind it (the
store is "not reachable" for as long as it stays hung). The thread is a daemon so that a
fenced collector can exit while it is stuck.

Each call first checks, in the same thread, that the store is still the filesystem it was
(services.common.store_root): a store unmounted or remounted under its caller (a collector,
or an arbiter reading it) counts as a failed call, with the reason, rather than as a store
that works on the host's own disk.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from schemas.liveness import SignedRecord
from schemas.slot import Slot
from services.common.heartbeat_store import HeartbeatStore
from services.common.store_root import StoreRoot

T = TypeVar("T")
_Job = tuple[Callable[[], Any], "Future[Any]"]


class StoreUnavailable(Exception):
    """The store call failed, missed its deadline, or the worker is still stuck in an earlier
    one; the message says which."""


@dataclass(frozen=True, slots=True)
class Cycle:
    """One interval's store work: this host's slot written and read back, every slot read."""

    written: bool
    slots: list[Slot] | None  # None: the store could not be listed
    read_at: float | None  # monotonic time the slots were read
    problem: str | None = None  # why the write or the read failed
    records: dict[str, SignedRecord] | None = None  # by host: the signed slots read


class StoreWorker:
    def __init__(self, store: HeartbeatStore, root: StoreRoot | None = None) -> None:
        self.store, self.root = store, root
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._busy: Future[Any] | None = None
        self._thread: threading.Thread | None = None

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="heartbeat-store", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        while True:
            fn, fut = self._jobs.get()
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn())
            except BaseException as exc:
                fut.set_exception(exc)

    async def call(self, fn: Callable[[], T], deadline_s: float) -> T:
        """Run `fn` in the worker; StoreUnavailable if it is busy or `fn` misses the deadline."""
        if self._busy is not None and not self._busy.done():
            raise StoreUnavailable("an earlier store call is still blocked (store hung?)")
        self._ensure_thread()
        fut: Future[T] = Future()
        self._busy = fut
        self._jobs.put((fn, fut))
        try:
            return await asyncio.wait_for(asyncio.wrap_future(fut), deadline_s)
        except TimeoutError:
            raise StoreUnavailable(f"no answer from the store within {deadline_s:g} s") from None

    async def cycle(self, slot: Slot, deadline_s: float, hosts: Iterable[str]) -> Cycle:
        """Write `slot`, then read the slots of `hosts` (the pool's)."""
        names = tuple(hosts)
        try:
            return await self.call(lambda: _cycle(self.store, slot, names, self.root), deadline_s)
        except StoreUnavailable as exc:
            return Cycle(written=False, slots=None, read_at=None, problem=str(exc))

    async def write(self, slot: Slot, deadline_s: float) -> str | None:
        """Write (and read back) one slot; None when it worked, else why not."""
        try:
            await self.call(lambda: _write(self.store, slot, self.root), deadline_s)
        except (StoreUnavailable, OSError) as exc:
            return str(exc)
        return None


def _write(store: HeartbeatStore, slot: Slot, root: StoreRoot | None) -> None:
    if root is not None:
        root.check()
    store.write(slot)


def _cycle(
    store: HeartbeatStore, slot: Slot, hosts: tuple[str, ...], root: StoreRoot | None = None
) -> Cycle:
    if root is not None:
        try:
            root.check()
        except OSError as exc:
            # Neither written nor read: a slot on the wrong filesystem proves nothing.
            return Cycle(written=False, slots=None, read_at=None, problem=f"store: {exc}")
    problems = []
    try:
        store.write(slot)
        written = True
    except OSError as exc:
        written = False
        problems.append(f"slot write: {exc}")
    try:
        reads = store.read_all(hosts)
        read_at: float | None = time.monotonic()
        slots: list[Slot] | None = [r.slot for r in reads.values() if r.slot is not None]
        records = {h: r.record for h, r in reads.items() if r.record is not None}
    except OSError as exc:
        slots, read_at, records = None, None, {}
        problems.append(f"slot read: {exc}")
    return Cycle(written, slots, read_at, "; ".join(problems) or None, records)
