"""Event times never go backwards in the log (services.common.eventstore.base.monotonic_times):
pure, no store."""

from __future__ import annotations

from datetime import timedelta

from schemas.events import HostJoined
from services.common.eventstore.base import monotonic_times
from tests.fixtures.events import T0, make


def _at(seconds: float) -> HostJoined:
    return make(HostJoined, host="lab1", incarnation="b", at=T0 + timedelta(seconds=seconds))


def test_a_time_before_the_previous_event_is_lifted_to_it() -> None:
    """After an event at +7 s, times +10, +5 (the clock stepped back), +12, +11 become +10,
    +10, +12, +12: max(own, previous); the events are otherwise the same (ids, fields)."""
    events = [_at(10), _at(5), _at(12), _at(11)]
    timed = monotonic_times(events, T0 + timedelta(seconds=7))
    assert [(e.at - T0).total_seconds() for e in timed] == [10, 10, 12, 12]
    assert [e.event_id for e in timed] == [e.event_id for e in events]
    assert [e.model_copy(update={"at": T0}) for e in timed] == [
        e.model_copy(update={"at": T0}) for e in events
    ]


def test_times_in_order_or_equal_are_kept_exactly() -> None:
    """An append whose times already follow the log (equal ones included) is unchanged, and
    so is a first append (no previous event)."""
    events = [_at(0), _at(0), _at(3)]
    assert monotonic_times(events, T0) == events
    assert monotonic_times([_at(-5)], None)[0].at == T0 - timedelta(seconds=5)


def test_the_previous_events_time_bounds_the_whole_batch() -> None:
    """Every event of a batch written with a clock an hour behind the log's last event is
    dated at that event's time, not before."""
    last = T0 + timedelta(hours=1)
    timed = monotonic_times([_at(1), _at(2)], last)
    assert [e.at for e in timed] == [last, last]
