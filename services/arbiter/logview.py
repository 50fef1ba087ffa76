"""An arbiter's reading of the event log: the folded pool, the decisions a new leader
replays, the sequence the next append must expect, and the newest epoch written.

`apply` is pure; `catch_up` is the thin IO step that feeds it what the log gained.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.events import Event, LeaderElected
from services.arbiter.record import CONFIG_EVENTS, config_of, to_decision
from services.arbiter.view import Configured, Decision
from services.common.eventstore import EventStore
from services.state import PoolState
from services.state import apply as fold_event


class LogView:
    def __init__(self) -> None:
        self.state = PoolState()
        self.decisions: list[Decision] = []
        self.last_seq = 0
        # The highest epoch any event carries: an epoch above the leader's own means a newer
        # leader has written (operators' bootstrap appends carry epoch 0).
        self.newest_epoch = 0
        self.leader: str | None = None  # the arbiter of the last leader_elected
        self.config_seq = 0  # the last configuration change folded

    def apply(self, seq: int, event: Event) -> None:
        self.state = fold_event(self.state, event)
        decision = to_decision(event)
        if decision is not None:
            self.decisions.append(decision)
        elif isinstance(event, CONFIG_EVENTS):
            # In log order among the decisions, so that a new leader's replay sees each
            # change exactly where it happened.
            self.decisions.append(Configured(config_of(self.state)))
            self.config_seq = max(self.config_seq, seq)
        if isinstance(event, LeaderElected):
            self.leader = event.arbiter
        self.newest_epoch = max(self.newest_epoch, event.epoch)
        self.last_seq = max(self.last_seq, seq)

    def appended(self, events: Sequence[Event], last_seq: int) -> None:
        """Our own append landed, its last event at `last_seq`: fold it without re-reading."""
        first = last_seq - len(events) + 1
        for offset, event in enumerate(events):
            self.apply(first + offset, event)

    def written_after(self, epoch: int) -> bool:
        """Whether a leader newer than `epoch` has written to the log."""
        return self.newest_epoch > epoch


async def catch_up(view: LogView, store: EventStore) -> int:
    """Fold what the log gained since `view.last_seq`; returns how many events were read."""
    end = await store.last_seq()
    if end <= view.last_seq:
        return 0
    count = 0
    async for recorded in store.read(view.last_seq + 1):
        view.apply(recorded.seq, recorded.event)
        count += 1
    # Unreadable messages at the end are skipped by the reader but still count as written.
    view.last_seq = max(view.last_seq, end)
    return count
