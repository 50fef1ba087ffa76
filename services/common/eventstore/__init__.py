"""The event log: one contract (`EventStore`), a JetStream store and an in-memory one."""

from services.common.eventstore.base import (
    MAX_APPEND,
    AppendRejected,
    AppendTimeout,
    AppendTooLarge,
    ConcurrencyConflict,
    Decoder,
    DuplicateEvent,
    EventStore,
    EventStoreError,
    EventStoreUnavailable,
    Recorded,
)
from services.common.eventstore.jetstream import JetStreamEventStore, stream_config
from services.common.eventstore.memory import InMemoryEventStore

__all__ = [
    "MAX_APPEND",
    "AppendRejected",
    "AppendTimeout",
    "AppendTooLarge",
    "ConcurrencyConflict",
    "Decoder",
    "DuplicateEvent",
    "EventStore",
    "EventStoreError",
    "EventStoreUnavailable",
    "InMemoryEventStore",
    "JetStreamEventStore",
    "Recorded",
    "stream_config",
]
