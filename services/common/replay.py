"""Rebuilding the pool state from the log: the thin shell around the pure fold."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from services.common.eventstore import EventStore
from services.state import HANDLERS, PoolState

OnProgress = Callable[[int], None]


class Rebuilt(NamedTuple):
    state: PoolState
    last_seq: int  # the sequence the state is current to: the next append expects it


async def rebuild_state(
    store: EventStore,
    *,
    state: PoolState | None = None,
    from_seq: int = 1,
    on_progress: OnProgress | None = None,
    progress_every: int = 5000,
) -> Rebuilt:
    """Fold every event from `from_seq` to the end of the log into `state`.

    `last_seq` is the log's last sequence even when its last messages were unreadable
    (skipped by the reader), so that an append after the rebuild does not conflict.
    """
    state = PoolState() if state is None else state
    end = await store.last_seq()
    count = 0
    last_seen = from_seq - 1
    async for recorded in store.read(from_seq):
        state = HANDLERS[type(recorded.event)](state, recorded.event)
        last_seen = recorded.seq
        count += 1
        if on_progress is not None and count % progress_every == 0:
            on_progress(recorded.seq)
    if on_progress is not None:
        on_progress(end)
    return Rebuilt(state, max(end, last_seen))
