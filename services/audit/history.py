"""Past states of a replay, for decisions taken on an earlier view of the log.

A plan is computed on the pool as of `based_on_seq`, some events before it lands in the log.
Keeping every past state would hold a copy of the pool per event; instead the history keeps a
state every `every` events and the entries since the oldest one kept, for the last `window`
events, and rebuilds any state in between by folding forward from the checkpoint before it.
Older states are `None`: the caller defers those decisions to a second pass (`states_at`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from services.audit.entries import Logged
from services.state import HANDLERS, PoolState

DEFAULT_WINDOW = 20_000
DEFAULT_EVERY = 100


class StateHistory:
    def __init__(self, *, window: int = DEFAULT_WINDOW, every: int = DEFAULT_EVERY) -> None:
        if window < every or every < 1:
            raise ValueError("the window must hold at least one checkpoint interval")
        self.window = window
        self.every = every
        # Oldest first: a checkpoint (seq, state after it) and the entries that follow it up to
        # the next one. The first checkpoint is the empty log.
        self._segments: deque[tuple[int, PoolState, list[Logged]]] = deque([(0, PoolState(), [])])
        self._last_seq = 0

    def record(self, entry: Logged, state_after: PoolState) -> None:
        """Note that `state_after` is the state once `entry` is folded in."""
        self._last_seq = entry.seq
        if entry.seq - self._segments[-1][0] >= self.every:
            self._segments.append((entry.seq, state_after, []))
            horizon = entry.seq - self.window
            while len(self._segments) > 1 and self._segments[1][0] <= horizon:
                self._segments.popleft()
        else:
            self._segments[-1][2].append(entry)

    def state_at(self, seq: int) -> PoolState | None:
        """The state after every event up to `seq` (a recorded sequence or not), or None when
        that is older than the history keeps. `seq` must not be past the last recorded one."""
        if seq > self._last_seq:
            raise ValueError(f"sequence {seq} is past the last recorded one ({self._last_seq})")
        if seq < self._segments[0][0]:
            return None
        segment = self._segments[0]
        for candidate in self._segments:
            if candidate[0] > seq:
                break
            segment = candidate
        _, state, entries = segment
        for entry in entries:
            if entry.seq > seq:
                break
            state = HANDLERS[type(entry.event)](state, entry.event)
        return state


class Snapshots:
    """The states after given sequences, from one pass over the log fed entry by entry (the
    second pass of verify)."""

    def __init__(self, seqs: Iterable[int]) -> None:
        self._wanted = sorted(set(seqs))
        self._next = 0
        self._state = PoolState()
        self.states: dict[int, PoolState] = {}

    @property
    def done(self) -> bool:
        return self._next == len(self._wanted)

    def feed(self, entry: Logged) -> None:
        wanted = self._wanted
        while self._next < len(wanted) and wanted[self._next] < entry.seq:
            self.states[wanted[self._next]] = self._state
            self._next += 1
        if not self.done:
            self._state = HANDLERS[type(entry.event)](self._state, entry.event)

    def finish(self) -> dict[int, PoolState]:
        """The states, once the whole log was fed (sequences past its end get the last)."""
        for seq in self._wanted[self._next :]:
            self.states[seq] = self._state
        self._next = len(self._wanted)
        return self.states


def states_at(entries: Iterable[Logged], seqs: Iterable[int]) -> dict[int, PoolState]:
    """The states after each sequence of `seqs`, from one pass over the whole log."""
    snapshots = Snapshots(seqs)
    for entry in entries:
        if snapshots.done:
            break
        snapshots.feed(entry)
    return snapshots.finish()
