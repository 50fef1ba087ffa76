"""What the collectors say on the bus, fed to the core: heartbeats, store observations,
fenced notices, join requests and host reports, each checked first (services.arbiter.wire).
A message that fails the check is counted, and logged with its subject and reason at most once
per sender and window (services.common.ratelimit); never a crash.

Flood resistance (docs/protocol.md, Bounded inputs): every subject is subscribed per host of the
pool, each with small pending limits, so a host flooding its own subjects fills only its own
queues and nats-py drops that host's excess, not the arbiter's connection nor another host's
messages; a message larger than the pool allows is dropped before it is decoded; heartbeats are
coalesced per host (only the newest counts), so the cost of a flood is one decode per host per
turn of the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from schemas.messages import FencedNotice, JoinRequest, NetworkHeartbeat, StoreObservation
from schemas.reports import HostReport
from services.arbiter.bounds import heartbeat_problem
from services.arbiter.core import Arbiter
from services.arbiter.metrics import ArbiterMetrics
from services.arbiter.wire import INPUTS, Malformed, decode_input
from services.common.bus import on_slow_consumer
from services.common.logging import get_logger, log_context
from services.common.message_bounds import heartbeat_limit, input_limit
from services.common.ratelimit import WarnLimiter
from services.common.subjects import encode_token
from services.common.wire import HEARTBEATS, heartbeat_subject, subject_host

log = get_logger("haplan.arbiter")

Handler = Callable[[Msg], Awaitable[None]]
# A forgery is logged once per (observer, host) and this window; each is counted.
FORGERY_LOG_EVERY_S = 60.0

# Messages a host's subscription may hold before nats-py drops its excess: a host sends one
# message of each kind per interval, so this is many intervals of backlog.
PENDING_MSGS = 64
# Its bytes: this many of the largest message the pool allows.
PENDING_LARGEST = 8
# A subscription that drops this many messages within a second (a host sends one per interval
# on each, so never in good faith) is muted (unsubscribed) for T:
# the server then stops sending the flood to the arbiter at all, where dropping it after
# reading would still cost the arbiter the reading (tens of MB/s) and, once the arbiter falls
# behind, its connection (the server cuts slow consumers). Only that host's subject of that
# kind goes quiet; its liveness comes from its lease and slot, not from these messages.
MUTE_AFTER = 4

_warnings = WarnLimiter()


def report_malformed(metrics: ArbiterMetrics, kind: str, subject: str, reason: str) -> None:
    """Count a message that could not be read (under `kind`, e.g. "hb") and log why, at most
    once per subject and window: the subject names the sender."""
    metrics.malformed.labels(subject=kind).inc()
    admitted, left_out = _warnings.admit(subject, time.monotonic())
    if admitted:
        with log_context(subject=subject):
            if left_out:
                log.warning("malformed message ignored", reason=reason, left_out=left_out)
            else:
                log.warning("malformed message ignored", reason=reason)


class BusFeeds:
    """`fenced` is set when a fenced mark is heard for the first time (a notice, or a slot
    read by some collector): a host said its VMs are dead, so the leader's next tick, which
    can declare it and restart them, is worth running at once."""

    def __init__(
        self, nc: Client, core: Arbiter, metrics: ArbiterMetrics, clock: Callable[[], float]
    ) -> None:
        self._nc, self._core, self._metrics, self._clock = nc, core, metrics, clock
        self._subs: dict[str, list[Subscription]] = {}  # host -> its subscriptions
        self.fenced = asyncio.Event()
        self._forgeries_logged = WarnLimiter(window_s=FORGERY_LOG_EVERY_S)
        self._newest: dict[str, bytes] = {}  # subject -> its newest heartbeat, not yet read
        self._heartbeats = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._hb_limit = self._other_limit = 0
        self._drops: dict[str, tuple[float, int]] = {}  # subject -> (second, drops in it)
        self._muting: set[asyncio.Task[None]] = set()

    async def subscribe(self) -> None:
        on_slow_consumer(self._nc, self._slow_consumer)
        self._reader = asyncio.create_task(self._read_heartbeats(), name="heartbeats")
        await self.follow_pool()

    async def unsubscribe(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        for task in list(self._muting):
            task.cancel()
        for host in list(self._subs):
            await self._drop_host(host)

    async def follow_pool(self) -> None:
        """Subscribe for the pool's hosts as the view has them now (hosts come and go); when
        the pool's names change the size bounds, every subscription is made again with them."""
        view = self._core.view
        # Linear in the pool's names, once an interval: cheap next to one heartbeat's decoding.
        limits = (heartbeat_limit(view.hosts, view.vms), input_limit(view.hosts, view.vms))
        if limits != (self._hb_limit, self._other_limit):
            self._hb_limit, self._other_limit = limits
            for host in [h for h in self._subs if h in view.hosts]:
                await self._resubscribe(host)
        for host in [h for h in self._subs if h not in view.hosts]:
            await self._drop_host(host)
        for host in [h for h in view.hosts if h not in self._subs]:
            self._subs[host] = [await self._listen(pattern, host) for pattern in INPUTS]

    async def _listen(self, pattern: str, host: str) -> Subscription:
        return await self._nc.subscribe(
            pattern.replace("*", encode_token(host)),
            cb=self._handler(pattern),
            pending_msgs_limit=PENDING_MSGS,
            pending_bytes_limit=PENDING_LARGEST * self._limit(pattern),
        )

    async def _resubscribe(self, host: str) -> None:
        """Listen to `host` again with the current limits, with no gap: the new subscriptions
        are made before the old ones are drained (the server takes SUB and UNSUB in order, and
        the drain reads what was already sent to the old ones). A message of the overlap may
        come twice: every input is state (the newest counts), so that changes nothing."""
        old = self._subs[host]
        self._subs[host] = [await self._listen(pattern, host) for pattern in INPUTS]
        for sub in old:
            # A muted one is already unsubscribed (its mute then ends with this).
            with contextlib.suppress(Exception):
                await sub.drain()  # type: ignore[no-untyped-call]  # nats-py leaves it unannotated

    async def _drop_host(self, host: str) -> None:
        for sub in self._subs.pop(host, []):
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._newest.pop(heartbeat_subject(host), None)

    def _limit(self, pattern: str) -> int:
        return self._hb_limit if pattern == HEARTBEATS else self._other_limit

    def _handler(self, pattern: str) -> Handler:
        kind = pattern.split(".")[1]  # "ha.hb.*" -> "hb"

        async def on_message(msg: Msg) -> None:
            size = len(msg.data)
            if size > self._limit(pattern):
                self._dropped(msg.subject, "oversize")
                report_malformed(
                    self._metrics, kind, msg.subject,
                    f"{size} bytes; this pool's largest {kind} message is {self._limit(pattern)}",
                )  # fmt: skip
                return
            if pattern == HEARTBEATS:
                # Only the newest heartbeat of a host counts: keep it for the reader.
                self._newest[msg.subject] = msg.data
                self._heartbeats.set()
                return
            self._accept(pattern, kind, msg.subject, msg.data)

        return on_message

    async def _read_heartbeats(self) -> None:
        while True:
            await self._heartbeats.wait()
            self._heartbeats.clear()
            while self._newest:
                subject = next(iter(self._newest))
                self._accept(HEARTBEATS, "hb", subject, self._newest.pop(subject))
                await asyncio.sleep(0)  # let the subscriptions run between hosts

    def _accept(self, pattern: str, kind: str, subject: str, data: bytes) -> None:
        try:
            message = decode_input(pattern, subject, data)
            if isinstance(message, NetworkHeartbeat):
                problem = heartbeat_problem(message, self._core.view.vms)
                if problem is not None:
                    raise Malformed(f"NetworkHeartbeat {problem}")
        except Malformed as exc:
            self._dropped(subject, "malformed")
            report_malformed(self._metrics, kind, subject, str(exc))
            return
        self.feed(message, self._clock())

    def _dropped(self, subject: str, reason: str) -> None:
        try:
            host = subject_host(subject)
        except Malformed:
            host = "?"
        # Only the pool's hosts are labels: a subject's token is any string its sender likes.
        self._metrics.dropped.labels(host if host in self._subs else "?", reason).inc()
        if reason == "late":
            return  # a backlog delivered after a freeze, not a flood
        second = int(time.monotonic())
        at, count = self._drops.get(subject, (second, 0))
        count = count + 1 if at == second else 1
        self._drops[subject] = (second, count)
        if count == MUTE_AFTER and host in self._subs:
            task = asyncio.create_task(self._mute(host, subject), name=f"mute {subject}")
            self._muting.add(task)
            task.add_done_callback(self._muting.discard)

    async def _mute(self, host: str, subject: str) -> None:
        """Stop hearing `subject` for T, then hear it again (if the host is still ours)."""
        subs = self._subs.get(host, [])
        found = [s for s in subs if s.subject == subject]
        if not found:
            return
        sub = found[0]
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
        log.warning("a host floods its subject: not listening to it for T", subject=subject,
                    host=host, for_s=self._core.timers.timeout_s)  # fmt: skip
        self._metrics.muted.labels(host).inc()
        await asyncio.sleep(self._core.timers.timeout_s)
        if host not in self._subs or sub not in self._subs[host]:
            return
        pattern = next(p for p in INPUTS if p.replace("*", encode_token(host)) == subject)
        again = await self._listen(pattern, host)
        self._subs[host] = [again if s is sub else s for s in self._subs[host]]

    def _slow_consumer(self, sub: Subscription, subject: str) -> bool:
        """nats-py dropped a message of `subject`: its host's queue was full (a flood). Only
        the hosts' subscriptions are the feeds' (not the operator requests')."""
        if not any(sub in subs for subs in self._subs.values()):
            return False
        self._dropped(subject, "pending-limit")
        admitted, left_out = _warnings.admit("slow:" + subject, time.monotonic())
        if admitted:
            with log_context(subject=subject):
                log.warning("a host's messages arrive faster than they are read; its excess is "
                            "dropped", left_out=left_out)  # fmt: skip
        return True

    def feed(self, message: object, now: float) -> None:
        core = self._core
        if isinstance(message, NetworkHeartbeat):
            if not core.heartbeat(message, now) and core.is_leader:
                self._dropped(heartbeat_subject(message.host), "late")
        elif isinstance(message, StoreObservation):
            # Only a mark the core believed and had not heard wakes the tick: a forged
            # reading (any fenced=True) must not buy the sender an extra tick.
            if core.store_observation(message, now):
                self.fenced.set()
            self._report_forgeries(now)
        elif isinstance(message, FencedNotice):
            if core.fenced_notice(message, now):
                self.fenced.set()
        elif isinstance(message, JoinRequest):
            core.join_request(message, now)
        elif isinstance(message, HostReport):
            core.host_report(message, now)

    def _report_forgeries(self, now: float) -> None:
        """Count every forgery; log one line per (observer, host) per FORGERY_LOG_EVERY_S, so
        that a flood does not drown the log (nor, with senders bounded, the memory)."""
        for f in self._core.take_forgeries():
            self._metrics.forgeries.labels(observer=f.observer).inc()
            admitted, left_out = self._forgeries_logged.admit(f"{f.observer}/{f.host}", now)
            if admitted:
                log.warning(
                    "forged store reading ignored",
                    observer=f.observer,
                    host=f.host,
                    why=f.why,
                    left_out=left_out,
                )
