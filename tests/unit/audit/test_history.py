"""Past states of a replay: the history and the second pass rebuild exactly the fold of the
log up to a sequence."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.audit import Entry, Snapshots, StateHistory, states_at
from services.state import PoolState, fold
from tests.fixtures.events import sample_events


def numbered(gaps: list[int]) -> list[Entry]:
    """The sample events with sequences that skip `gaps[i]` numbers before event i (as when
    unreadable messages were skipped)."""
    out = []
    seq = 0
    for event, gap in zip(sample_events(), gaps, strict=False):
        seq += 1 + gap
        out.append(Entry(seq, event))  # type: ignore[arg-type]
    return out


def fold_to(entries: list[Entry], seq: int) -> PoolState:
    return fold(e.event for e in entries if e.seq <= seq)


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.integers(0, 3), min_size=24, max_size=24),
    every=st.integers(1, 6),
    extra=st.integers(0, 10),
)
def test_state_at_is_the_fold_up_to_that_sequence(gaps: list[int], every: int, extra: int) -> None:
    """For every sequence the history still covers, state_at equals folding the log up to it;
    older sequences are None; sequences nothing covers any more start at the window."""
    entries = numbered(gaps)
    history = StateHistory(window=every + extra, every=every)
    state = PoolState()
    for entry in entries:
        state = fold([entry.event], state)
        history.record(entry, state)
    last = entries[-1].seq
    for seq in range(0, last + 1):
        got = history.state_at(seq)
        if got is not None:
            assert got == fold_to(entries, seq)
    assert history.state_at(last) == state
    # The window is honoured: everything in it is still there.
    for seq in range(max(0, last - history.window), last + 1):
        assert history.state_at(seq) is not None


def test_a_sequence_past_the_last_is_refused() -> None:
    """Asking for a state the history has not seen yet is a caller error."""
    history = StateHistory(window=10, every=2)
    entry = numbered([0])[0]
    history.record(entry, fold([entry.event]))
    with pytest.raises(ValueError, match="past the last"):
        history.state_at(2)


@given(gaps=st.lists(st.integers(0, 2), min_size=24, max_size=24),
       wanted=st.sets(st.integers(0, 80), max_size=8))  # fmt: skip
def test_the_second_pass_rebuilds_any_state(gaps: list[int], wanted: set[int]) -> None:
    """states_at (and Snapshots fed entry by entry) give the fold up to each wanted sequence,
    including sequences that were skipped or lie past the end of the log."""
    entries = numbered(gaps)
    got = states_at(entries, wanted)
    assert set(got) == wanted
    for seq in wanted:
        assert got[seq] == fold_to(entries, seq)
    snapshots = Snapshots(wanted)
    for entry in entries:
        snapshots.feed(entry)
    assert snapshots.finish() == got
