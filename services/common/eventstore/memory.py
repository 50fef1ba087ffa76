"""An in-memory event store with the JetStream store's contract, for pure tests and
simulations. Payloads are stored encoded, so reads go through the same decoding (upcasting,
skipping what is unreadable) as on the bus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from schemas.events import Event, EventDecodeError, decode_event
from services.common.eventstore.base import (
    ConcurrencyConflict,
    Decoder,
    DuplicateEvent,
    Recorded,
    prepare_append,
)


class InMemoryEventStore:
    def __init__(self) -> None:
        self._log: list[tuple[str, bytes, str | None]] = []  # subject, payload, event id
        self._ids: set[str] = set()
        self._decoder = Decoder()
        self._appended = asyncio.Event()

    @property
    def malformed(self) -> int:
        return self._decoder.malformed

    async def last_seq(self) -> int:
        return len(self._log)

    async def append(self, events: Sequence[Event], expected_last_seq: int) -> int:
        batch = prepare_append(events, expected_last_seq, self._time_of(expected_last_seq))
        actual = len(self._log)
        if actual != expected_last_seq:
            landed = self._log[expected_last_seq : expected_last_seq + len(batch)]
            if [entry[2] for entry in landed] == [b.event_id for b in batch]:
                return expected_last_seq + len(batch)
            raise ConcurrencyConflict(expected_last_seq, actual)
        taken = [b.event_id for b in batch if b.event_id in self._ids]
        if taken:
            raise DuplicateEvent(f"event {taken[0]} is already in the log")
        for b in batch:
            self._log.append((b.subject, b.payload, b.event_id))
            self._ids.add(b.event_id)
        self._wake()
        return len(self._log)

    def _time_of(self, seq: int) -> datetime | None:
        """The time of the event at `seq`, as the JetStream store finds it (None: none)."""
        if not 1 <= seq <= len(self._log):
            return None
        try:  # not through the decoder: a reader's count of unreadable events stays the same
            return decode_event(self._log[seq - 1][1]).at
        except EventDecodeError:
            return None

    def append_raw(self, subject: str, payload: bytes) -> int:
        """Store any bytes on a subject, as a foreign or broken writer could on the bus."""
        self._log.append((subject, payload, None))
        self._wake()
        return len(self._log)

    def _wake(self) -> None:
        self._appended.set()
        self._appended = asyncio.Event()

    async def read(self, from_seq: int = 1) -> AsyncIterator[Recorded]:
        end = len(self._log)
        for seq in range(max(from_seq, 1), end + 1):
            recorded = self._decode(seq)
            if recorded is not None:
                yield recorded

    async def follow(self, from_seq: int = 1) -> AsyncIterator[Recorded]:
        seq = max(from_seq, 1)
        while True:
            while seq <= len(self._log):
                recorded = self._decode(seq)
                seq += 1
                if recorded is not None:
                    yield recorded
            await self._appended.wait()

    def _decode(self, seq: int) -> Recorded | None:
        subject, payload, _ = self._log[seq - 1]
        return self._decoder(seq, subject, payload)
