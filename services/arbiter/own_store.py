"""This arbiter's own reads of the heartbeat store (`haplan arbiter --store DIR`), for the
core's timeout path (services.arbiter.stillness).

Every interval it lists the pool's slots in its mount of the shared storage, off the event
loop in one worker thread with a deadline of one interval (a hung NFS mount blocks for as long
as it likes), and hands the core what it read, or None when the read failed, with the time of
its own monotonic clock. The mount is checked as the collector checks its own (it must still
be the filesystem it was: services.common.store_root). The arbiter only reads: a read-only
mount is enough.
"""

from __future__ import annotations

from collections.abc import Callable

from schemas.liveness import SignedRecord
from schemas.slot import Slot
from services.arbiter.core import Arbiter
from services.common.heartbeat_store import HeartbeatStore
from services.common.logging import get_logger
from services.common.store_root import StoreRoot
from services.common.store_worker import StoreUnavailable, StoreWorker

log = get_logger("haplan.arbiter")

Read = list[tuple[Slot, SignedRecord | None]]


def read_slots(store: HeartbeatStore, root: StoreRoot, hosts: tuple[str, ...]) -> Read:
    """The slots of `hosts` as their files hold them (blocking). OSError when the store is not
    the filesystem it was or cannot be listed; no `ha/` yet is a store nobody wrote to."""
    root.check()
    try:
        reads = store.read_all(hosts)
    except FileNotFoundError:
        if not store.dir.parent.is_dir():
            raise
        return []
    return [(r.slot, r.record) for r in reads.values() if r.slot is not None]


class OwnStoreReads:
    def __init__(self, root: StoreRoot, core: Arbiter, clock: Callable[[], float]) -> None:
        self.root, self.core, self.clock = root, core, clock
        self.store = HeartbeatStore(root.path)
        self.worker = StoreWorker(self.store, root)
        self._failing = False

    async def read(self, deadline_s: float) -> bool:
        """One read, handed to the core; whether it worked. A failure is logged once per
        outage, and its end too."""
        hosts = tuple(self.core.view.hosts)
        problem = None
        slots: Read | None
        try:
            slots = await self.worker.call(
                lambda: read_slots(self.store, self.root, hosts), deadline_s
            )
        except (StoreUnavailable, OSError) as exc:
            slots, problem = None, str(exc) or repr(exc)
        self.core.store_read(slots, self.clock())
        if problem is not None and not self._failing:
            log.warning(
                "cannot read the heartbeat store: no host is declared dead on its slot's "
                "stillness until it can (a storage outage everywhere still counts)",
                store=str(self.root.path), problem=problem,
            )  # fmt: skip
        elif problem is None and self._failing:
            log.info("the heartbeat store reads again", store=str(self.root.path))
        self._failing = problem is not None
        return problem is None
