"""Peers' heartbeats, heard so that no peer can flood this collector off the bus
(docs/protocol.md, Bounded inputs).

One subscription per peer of the pool (`ha.hb.<peer>`), with small pending limits: a peer
flooding its subject fills its own queue only. A heartbeat larger than the pool allows is
dropped before it is decoded, and only the newest undecoded heartbeat of each peer is kept for
the reader. A peer whose subject has 4 messages dropped within a second is not listened to for
T: the server then stops sending the flood here at all, where reading it (tens of MB/s) would
make this collector a slow consumer that the server cuts off, and a cut bus fences a healthy
host.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from services.collector import wire
from services.common.bus import on_slow_consumer
from services.common.logging import get_logger, log_context
from services.common.ratelimit import WarnLimiter

log = get_logger("haplan.collector")

PENDING_MSGS = 16
PENDING_LARGEST = 8  # pending bytes: this many of the largest heartbeat the pool allows
MUTE_AFTER = 4  # drops within a second: a peer sends one heartbeat per interval
DEFAULT_LIMIT = 64 * 1024  # until the pool's bound is set

Read = Callable[[str, bytes], None]  # (subject, data): decode and take, may raise Malformed


class PeerHeartbeats:
    def __init__(
        self, nc: Client, peers: frozenset[str], read: Read, bad: Callable[[Msg, str], None],
        mute_for_s: float,
    ) -> None:  # fmt: skip
        self._nc, self._peers, self._read, self._bad = nc, peers, read, bad
        self._mute_for_s = mute_for_s
        self.limit = DEFAULT_LIMIT
        self._subs: dict[str, Subscription] = {}  # subject -> subscription
        self._newest: dict[str, bytes] = {}
        self._ready = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._drops: dict[str, tuple[int, int]] = {}
        self._warnings = WarnLimiter()
        self.dropped = 0
        self.failed = 0  # heartbeats whose reading raised

    async def start(self) -> None:
        on_slow_consumer(self._nc, self._slow_consumer)
        self._spawn(self._reader(), "peer heartbeats")
        for peer in sorted(self._peers):
            subject = wire.heartbeat_subject(peer)
            self._subs[subject] = await self._listen(subject)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for sub in self._subs.values():
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs.clear()

    def _spawn(self, work: object, name: str) -> None:
        task = asyncio.ensure_future(work)  # type: ignore[call-overload]
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _listen(self, subject: str) -> Subscription:
        # The pending bytes allow for the pool to grow (a bound raised later by `limit`).
        return await self._nc.subscribe(
            subject, cb=self._on_message, pending_msgs_limit=PENDING_MSGS,
            pending_bytes_limit=PENDING_LARGEST * max(self.limit, DEFAULT_LIMIT),
        )  # fmt: skip

    async def _on_message(self, msg: Msg) -> None:
        if len(msg.data) > self.limit:
            self._dropped(msg.subject)
            self._bad(msg, f"{len(msg.data)} bytes; this pool's largest heartbeat is {self.limit}")
            return
        self._newest[msg.subject] = msg.data
        self._ready.set()

    async def _reader(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._newest:
                subject = next(iter(self._newest))
                self._read_one(subject, self._newest.pop(subject))
                await asyncio.sleep(0)

    def _read_one(self, subject: str, data: bytes) -> None:
        try:
            self._read(subject, data)
        except Exception as exc:
            # A bug, not the peer's fault: one heartbeat is lost, never the reader, whose
            # death would leave this collector deaf to every peer while it still heartbeats.
            self.failed += 1
            admitted, left_out = self._warnings.admit(f"read {subject}", time.monotonic())
            if admitted:
                with log_context(subject=subject):
                    log.error("reading a peer's heartbeat failed", error=repr(exc),
                              left_out=left_out)  # fmt: skip

    def _slow_consumer(self, sub: Subscription, subject: str) -> bool:
        if self._subs.get(sub.subject) is not sub:
            return False  # the collector's commands, status requests or inbox: not a peer's
        self._dropped(subject)
        admitted, left_out = self._warnings.admit(subject, time.monotonic())
        if admitted:
            with log_context(subject=subject):
                log.warning("a peer's heartbeats arrive faster than they are read; its excess "
                            "is dropped", left_out=left_out)  # fmt: skip
        return True

    def _dropped(self, subject: str) -> None:
        self.dropped += 1
        second = int(time.monotonic())
        at, count = self._drops.get(subject, (second, 0))
        count = count + 1 if at == second else 1
        self._drops[subject] = (second, count)
        if count == MUTE_AFTER and subject in self._subs:
            self._spawn(self._mute(subject), f"mute {subject}")

    async def _mute(self, subject: str) -> None:
        sub = self._subs.get(subject)
        if sub is None:
            return
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
        log.warning("a peer floods its heartbeat subject: not listening to it for T",
                    subject=subject, for_s=self._mute_for_s)  # fmt: skip
        await asyncio.sleep(self._mute_for_s)
        if self._subs.get(subject) is sub:
            self._subs[subject] = await self._listen(subject)
