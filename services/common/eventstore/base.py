"""The event store contract, shared by the JetStream store and the in-memory one.

append(events, expected_last_seq) -> last sequence
    Appends all events or none, only if the log's last sequence is `expected_last_seq`
    (optimistic concurrency: a deposed leader, whose view of the log is stale, cannot
    write). Otherwise ConcurrencyConflict carries the actual last sequence, unless the
    log already holds exactly these events right after `expected_last_seq`: then this is
    the retry of an append whose acknowledgement was lost, and it returns as a success.
    An event id already elsewhere in the log raises DuplicateEvent.
read(from_seq) -> the events from `from_seq` up to the last one at the time of the call
follow(from_seq) -> the same, then every event appended later, until the caller stops
last_seq() -> the sequence of the last event (0 for an empty log)
malformed -> how many unreadable messages readers skipped (each also logged with its
    sequence); an unreadable message never stops a reader.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import NamedTuple, Protocol

from schemas.events import Event, EventDecodeError, decode_event, encode_event
from services.common.logging import get_logger, log_context
from services.common.subjects import subject_for

# JetStream's limit on the messages of one atomic batch.
MAX_APPEND = 1000

log = get_logger("haplan.eventstore")


class Recorded(NamedTuple):
    """An event as the log holds it: its sequence and the subject it was appended on."""

    seq: int
    subject: str
    event: Event


class EventStoreError(Exception):
    """Base of the errors an append can raise."""


class ConcurrencyConflict(EventStoreError):
    """The log moved since the caller read it: re-read, re-decide, then append again."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"the event log moved: expected last sequence {expected}, it is {actual}")
        self.expected = expected
        self.actual = actual


class DuplicateEvent(EventStoreError):
    """An event id of the append is already in the log, elsewhere than a retry would put it."""


class EventStoreUnavailable(EventStoreError):
    """The store did not answer (bus down, stream leader being elected). An append may or
    may not have landed: retrying the same events with the same expected sequence is safe
    (see the contract above)."""


class AppendTimeout(EventStoreUnavailable):
    """No acknowledgement of an append in time."""


class AppendRejected(EventStoreError):
    """The store refused the append for another reason (the message says which)."""


class AppendTooLarge(EventStoreError):
    """An append over what the bus can carry (the message names the size and the limit):
    nothing of it was appended. Bad input, not an outage: retrying cannot help."""


class EventStore(Protocol):
    @property
    def malformed(self) -> int: ...

    async def last_seq(self) -> int: ...

    async def append(self, events: Sequence[Event], expected_last_seq: int) -> int: ...

    def read(self, from_seq: int = 1) -> AsyncIterator[Recorded]: ...

    def follow(self, from_seq: int = 1) -> AsyncIterator[Recorded]: ...


class Outgoing(NamedTuple):
    subject: str
    payload: bytes
    event_id: str


def monotonic_times(events: Sequence[Event], previous_at: datetime | None) -> list[Event]:
    """The events with times that never go backwards in the log: each `at` is at least the
    time of the event before it (`previous_at`: the log's last event, None for none).

    `at` is wall-clock time, stamped by the writer; when the clock is stepped back (NTP, an
    operator, a VM resumed), or two writers' clocks disagree, a later event could read as
    earlier and timelines, audits and `--since` would misorder it. The appender, which knows
    the event its append goes right after (optimistic concurrency names it), lifts such a
    time to the previous event's: max(wall, previous). Equal times are allowed (the sequence
    orders them), so events whose clocks agree keep their times exactly. Decisions never
    read `at`: their timers run on monotonic clocks and their evidence carries its own ages.
    """
    out: list[Event] = []
    previous = previous_at
    for event in events:
        if previous is not None and event.at < previous:
            event = event.model_copy(update={"at": previous})
        out.append(event)
        previous = event.at
    return out


def prepare_append(
    events: Sequence[Event], expected_last_seq: int, previous_at: datetime | None = None
) -> list[Outgoing]:
    """Check an append's arguments and encode its events (shared by both stores), their times
    made monotonic after `previous_at`, the time of the event at `expected_last_seq`."""
    if not events:
        raise ValueError("an append needs at least one event")
    if len(events) > MAX_APPEND:
        raise ValueError(f"an append holds at most {MAX_APPEND} events, got {len(events)}")
    if expected_last_seq < 0:
        raise ValueError(f"expected_last_seq must be >= 0, got {expected_last_seq}")
    ids = [e.event_id for e in events]
    if len(set(ids)) != len(ids):
        raise ValueError("an append holds the same event id twice")
    timed = monotonic_times(events, previous_at)
    return [Outgoing(subject_for(e), encode_event(e), e.event_id) for e in timed]


class Decoder:
    """Decodes stored messages; unreadable ones are logged with their sequence, counted and
    skipped (None)."""

    def __init__(self) -> None:
        self.malformed = 0

    def __call__(self, seq: int, subject: str, data: bytes) -> Recorded | None:
        try:
            return Recorded(seq, subject, decode_event(data))
        except EventDecodeError as exc:
            self.unreadable(seq, subject, str(exc))
            return None

    def unreadable(self, seq: int, subject: str, reason: str) -> None:
        """Count and log a message that gives no event."""
        self.malformed += 1
        with log_context(subject=subject, sequence=seq):
            log.warning("unreadable event skipped", reason=reason)
