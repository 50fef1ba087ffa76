"""The event log on JetStream: stream HA_EVENTS on `ha.evt.>`.

Appends carry `Nats-Expected-Last-Sequence` (optimistic concurrency) and `Nats-Msg-Id` =
event id (the server drops a resent message within its duplicate window). An append of
several events is one atomic batch (nats-server >= 2.12, `allow_atomic`): all land or none.
An event over one message's size is cut into fragments appended in the same batch and put
back together by readers (`fragments`): an event's sequence is its last message's.
Reads use an ordered consumer, which redelivers from the last sequence seen after any gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import (
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from schemas.events import Event, EventDecodeError, decode_event
from services.common.eventstore.base import (
    AppendRejected,
    AppendTimeout,
    AppendTooLarge,
    ConcurrencyConflict,
    Decoder,
    DuplicateEvent,
    EventStoreUnavailable,
    Recorded,
    prepare_append,
)
from services.common.eventstore.fragments import FRAGMENT, Message, Reassembler, split
from services.common.logging import get_logger
from services.common.payload import MessageTooLarge, check_size
from services.common.subjects import EVENT_SUBJECTS, STREAM

log = get_logger("haplan.eventstore")

# JetStream API error codes the append path tells apart.
WRONG_LAST_SEQUENCE = 10071
BATCH_DUPLICATE_ID = 10201
_WRONG_LAST = re.compile(r"wrong last sequence: (\d+)")

# JetStream's limit on the messages of one atomic batch (ADR-50), fragments included.
MAX_BATCH_MESSAGES = 1000

# Messages read ahead of the caller: beyond this the subscription stops taking messages,
# flow control stalls the server, and memory stays bounded however long the log is.
READ_AHEAD = 4096
# A bounded read's consumer that delivers nothing for this long is replaced (docs/protocol.md).
STALLED_READ_S = 5.0
DUPLICATE_WINDOW_S = 120.0


def stream_config(replicas: int) -> StreamConfig:
    return StreamConfig(
        name=STREAM,
        description="haplan event log",
        subjects=[EVENT_SUBJECTS],
        storage=StorageType.FILE,
        num_replicas=replicas,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        duplicate_window=DUPLICATE_WINDOW_S,
        allow_atomic=True,
        # Old events are never rewritten or dropped: audits replay the whole log.
        deny_delete=True,
        deny_purge=True,
    )


class JetStreamEventStore:
    """The event store on a connected NATS client. Create with `await open(nc, ...)`."""

    def __init__(self, nc: Client, *, request_timeout_s: float = 5.0) -> None:
        self._nc = nc
        self._js = nc.jetstream(timeout=request_timeout_s)
        self._timeout = request_timeout_s
        self._decoder = Decoder()
        # The time of the latest event this store read or appended, with its sequence: what
        # an append right after it makes its times monotonic against (base.monotonic_times)
        # without asking the stream.
        self._known_at: tuple[int, datetime] | None = None

    @classmethod
    async def open(
        cls, nc: Client, *, replicas: int = 1, request_timeout_s: float = 5.0
    ) -> JetStreamEventStore:
        store = cls(nc, request_timeout_s=request_timeout_s)
        await store.ensure_stream(replicas)
        return store

    async def ensure_stream(self, replicas: int) -> None:
        """Create HA_EVENTS if missing; an existing stream keeps its data and replicas."""
        try:
            await self._ensure_stream(replicas)
        except nats.errors.Error as exc:
            raise EventStoreUnavailable(
                f"cannot open the event stream {STREAM}: JetStream did not answer "
                f"({type(exc).__name__})"
            ) from None

    async def _ensure_stream(self, replicas: int) -> None:
        wanted = stream_config(replicas)
        try:
            info = await self._js.stream_info(STREAM)
        except nats.js.errors.NotFoundError:
            await self._js.add_stream(wanted)
            log.info("event stream created", stream=STREAM, replicas=replicas)
            return
        config = info.config
        if not config.allow_atomic:
            config.allow_atomic = True
            await self._js.update_stream(config)
        if config.num_replicas != replicas:
            log.warning(
                "event stream has other replicas than configured; keeping them",
                stream=STREAM,
                replicas=config.num_replicas,
                configured=replicas,
            )

    @property
    def malformed(self) -> int:
        return self._decoder.malformed

    async def last_seq(self) -> int:
        try:
            info = await self._js.stream_info(STREAM)
        except nats.errors.Error as exc:
            raise EventStoreUnavailable(f"cannot read the event stream's state: {exc!r}") from None
        return int(info.state.last_seq)

    # -- append

    async def append(self, events: Sequence[Event], expected_last_seq: int) -> int:
        previous_at = await self._time_of(expected_last_seq)
        whole = prepare_append(events, expected_last_seq, previous_at)
        limit = self._nc.max_payload
        batch = [m for out in whole for m in split(out.subject, out.payload, out.event_id, limit)]
        if len(batch) > MAX_BATCH_MESSAGES:
            size = sum(len(out.payload) for out in whole)
            raise AppendTooLarge(
                f"an append of {size:,} bytes needs {len(batch)} messages of at most "
                f"{limit:,} bytes, over JetStream's limit of {MAX_BATCH_MESSAGES} per atomic "
                "batch; nothing was appended"
            )
        try:
            for m in batch:
                check_size(self._nc, m.subject, m.payload, self._headers_bound(m))
            seq = await self._append_when_answered(batch, expected_last_seq)
        except MessageTooLarge as exc:
            raise AppendTooLarge(f"{exc}; nothing was appended") from None
        except nats.errors.TimeoutError:
            raise AppendTimeout(
                f"no acknowledgement from the event stream within {self._timeout:g} s; "
                "the append may have landed: retry it with the same events"
            ) from None
        except nats.errors.NoRespondersError:
            raise EventStoreUnavailable(
                f"no JetStream stream answered on {batch[0].subject}; is {STREAM} there?"
            ) from None
        except nats.errors.Error as exc:
            raise EventStoreUnavailable(f"the append could not complete: {exc!r}") from None
        self._known_at = (seq, decode_event(whole[-1].payload).at)
        return seq

    @staticmethod
    def _headers_bound(m: Message) -> dict[str, str]:
        """The message's headers with the largest batch headers an append may add."""
        return {
            **m.headers,
            "Nats-Msg-Id": m.msg_id,
            "Nats-Batch-Id": "0" * 32,
            "Nats-Batch-Sequence": str(MAX_BATCH_MESSAGES),
            "Nats-Expected-Last-Sequence": str(2**64),
            "Nats-Batch-Commit": "1",
        }

    async def _time_of(self, seq: int) -> datetime | None:
        """The time of the event at `seq` (None: no event, or an unreadable one)."""
        if seq <= 0:
            return None
        if self._known_at is not None and self._known_at[0] == seq:
            return self._known_at[1]
        try:
            msg = await self._js.get_msg(STREAM, seq=seq)
            if FRAGMENT in (msg.headers or {}):
                # The last fragment of a large event: not worth reading every fragment for.
                return None
            return decode_event(msg.data or b"").at
        except (nats.errors.Error, EventDecodeError):
            # Not there (the append's own check refuses it then) or not an event: nothing to
            # keep the order against.
            return None

    async def _append_when_answered(self, batch: list[Message], expected_last_seq: int) -> int:
        """`_append`, asked again while nobody answers, within the request timeout. A publish
        that no stream answered stored nothing (an uncommitted batch is dropped by the server),
        so asking again is safe; and on a cluster a stream just created answers a moment
        later, once its interest has reached this client's server through the routes (a
        deployment's one-shot `pool create` lost its pool to that race in the container e2e)."""
        loop = asyncio.get_running_loop()
        until = loop.time() + self._timeout
        pause = 0.1
        while True:
            try:
                return await self._append(batch, expected_last_seq)
            except nats.errors.NoRespondersError:
                if loop.time() + pause >= until:
                    raise
                await asyncio.sleep(pause)
                pause = min(2 * pause, 1.0)

    async def _append(self, batch: list[Message], expected_last_seq: int) -> int:
        if len(batch) == 1:
            ack = await self._publish_one(batch[0], expected_last_seq)
        else:
            ack = await self._publish_batch(batch, expected_last_seq)
        error = ack.get("error")
        if error is None:
            if ack.get("duplicate"):
                # Only an event at or before expected_last_seq can be a duplicate here.
                raise DuplicateEvent(
                    f"event {batch[0].msg_id} is already in the log (sequence {ack['seq']})"
                )
            return int(ack["seq"])
        code = error.get("err_code")
        if code in (WRONG_LAST_SEQUENCE, BATCH_DUPLICATE_ID):
            return await self._settle_refusal(batch, expected_last_seq, error)
        raise AppendRejected(f"the event stream refused the append: {error.get('description')}")

    async def _request(self, out: Message, headers: dict[str, str]) -> dict[str, Any]:
        reply = await self._nc.request(out.subject, out.payload, self._timeout, headers=headers)
        return json.loads(reply.data) if reply.data else {}

    async def _publish_one(self, out: Message, expected: int) -> dict[str, Any]:
        headers = {
            **out.headers,
            "Nats-Msg-Id": out.msg_id,
            "Nats-Expected-Last-Sequence": str(expected),
        }
        return await self._request(out, headers)

    async def _publish_batch(self, batch: list[Message], expected: int) -> dict[str, Any]:
        batch_id = uuid.uuid4().hex
        last = len(batch)
        for i, out in enumerate(batch, start=1):
            headers = {
                **out.headers,
                "Nats-Batch-Id": batch_id,
                "Nats-Batch-Sequence": str(i),
                "Nats-Msg-Id": out.msg_id,
            }
            if i == 1:
                # Checked at commit against the log before the batch (ADR-50).
                headers["Nats-Expected-Last-Sequence"] = str(expected)
                start = await self._request(out, headers)
                if "error" in start:
                    return start
            elif i == last:
                headers["Nats-Batch-Commit"] = "1"
                return await self._request(out, headers)
            else:
                await self._nc.publish(out.subject, out.payload, headers=headers)
        raise AssertionError("unreachable: a batch has at least two messages")

    async def _settle_refusal(
        self, batch: list[Message], expected: int, error: dict[str, Any]
    ) -> int:
        """A refused append is either the retry of one that landed (success), a conflict,
        or a reused event id."""
        match = _WRONG_LAST.search(str(error.get("description", "")))
        actual = int(match.group(1)) if match else await self.last_seq()
        if actual >= expected + len(batch) and await self._holds(batch, expected):
            return expected + len(batch)
        if actual != expected:
            raise ConcurrencyConflict(expected, actual)
        raise DuplicateEvent("an event id of the append is already in the log")

    async def _holds(self, batch: list[Message], expected: int) -> bool:
        for offset, out in enumerate(batch, start=1):
            try:
                msg = await self._js.get_msg(STREAM, seq=expected + offset)
            except nats.js.errors.NotFoundError:
                return False
            if (msg.headers or {}).get("Nats-Msg-Id") != out.msg_id:
                return False
        return True

    # -- read

    def read(self, from_seq: int = 1) -> AsyncIterator[Recorded]:
        return self._consume(from_seq, until_end=True)

    def follow(self, from_seq: int = 1) -> AsyncIterator[Recorded]:
        return self._consume(from_seq, until_end=False)

    async def _consume(self, from_seq: int, *, until_end: bool) -> AsyncIterator[Recorded]:
        start = max(from_seq, 1)
        end = await self.last_seq() if until_end else None
        if end is not None and start > end:
            return
        # A callback feeding a bounded queue is three times faster than the subscription's
        # own iterator, and blocking in it is what makes flow control hold the server back.
        queue: asyncio.Queue[Msg] = asyncio.Queue(maxsize=READ_AHEAD)
        sub = await self._subscribe(start, queue)
        decode = self._decoder
        fragments = Reassembler()
        seq = start - 1
        try:
            while True:
                if end is None:
                    msg = await queue.get()
                else:
                    msg, sub = await self._next_before_end(queue, sub, seq, end)
                seq = _stream_seq(msg.reply)
                whole = fragments.take(seq, msg.subject, msg.data, msg.headers)
                for problem in whole.problems:
                    decode.unreadable(seq, msg.subject, problem)
                recorded = (
                    None if whole.payload is None else decode(seq, msg.subject, whole.payload)
                )
                if recorded is not None:
                    self._known_at = (seq, recorded.event.at)
                    yield recorded
                if end is not None and seq >= end:
                    return
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _next_before_end(
        self, queue: asyncio.Queue[Msg], sub: Any, last: int, end: int
    ) -> tuple[Msg, Any]:
        """The next message of a read that must reach `end`. A consumer that delivers nothing
        for STALLED_READ_S (its server lost it, or a reset of the ordered consumer failed
        under load) is replaced by a new one from the message after `last`: a bounded read
        ends or fails, it never waits forever. No progress for the store's read deadline is
        EventStoreUnavailable."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(10.0, 3 * self._timeout)
        while True:
            try:
                msg = await asyncio.wait_for(queue.get(), STALLED_READ_S)
            except TimeoutError:
                msg = None
            if msg is not None:
                if _stream_seq(msg.reply) > last:  # else the old consumer's, read already
                    return msg, sub
                continue
            if loop.time() > deadline:
                raise EventStoreUnavailable(
                    f"the event stream stopped delivering after sequence {last} of {end}"
                ) from None
            log.warning("event stream read stalled; reading on from a new consumer", seq=last)
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
            while not queue.empty():  # what the old consumer still delivered comes again
                queue.get_nowait()
            sub = await self._subscribe(last + 1, queue)

    async def _subscribe(self, start: int, queue: asyncio.Queue[Msg]) -> Any:
        """An ordered consumer from `start`, retried while JetStream cannot create consumers
        (e.g. a cluster electing leaders after a node loss)."""
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start)
        deadline = asyncio.get_running_loop().time() + max(10.0, 3 * self._timeout)
        while True:
            try:
                return await self._js.subscribe(
                    EVENT_SUBJECTS,
                    stream=STREAM,
                    cb=queue.put,
                    ordered_consumer=True,
                    config=config,
                )
            except (nats.errors.TimeoutError, nats.js.errors.ServiceUnavailableError) as exc:
                if asyncio.get_running_loop().time() > deadline:
                    raise EventStoreUnavailable(f"cannot read the event stream: {exc!r}") from None
                log.info("event stream not readable yet; retrying", error=repr(exc))
                await asyncio.sleep(0.25)


def _stream_seq(reply: str) -> int:
    # $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ts>.<pending>, or
    # the 12-token form with domain and account hash in front of the stream.
    tokens = reply.split(".")
    return int(tokens[5] if len(tokens) == 9 else tokens[7])
