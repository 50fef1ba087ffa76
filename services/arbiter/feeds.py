"""What the collectors say on the bus, fed to the core: heartbeats, store observations,
fenced notices, join requests and host reports, each checked first (services.arbiter.wire).
A message that fails the check is logged with its subject and reason and counted, never a
crash."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from schemas.messages import FencedNotice, JoinRequest, NetworkHeartbeat, StoreObservation
from schemas.reports import HostReport
from services.arbiter.core import Arbiter
from services.arbiter.metrics import ArbiterMetrics
from services.arbiter.wire import INPUTS, Malformed, decode_input
from services.common.logging import get_logger, log_context

log = get_logger("haplan.arbiter")

Handler = Callable[[Msg], Awaitable[None]]
FORGERY_LOG_EVERY_S = 60.0


def report_malformed(metrics: ArbiterMetrics, kind: str, subject: str, reason: str) -> None:
    """Count a message that could not be read (under `kind`, e.g. "hb") and log why."""
    metrics.malformed.labels(subject=kind).inc()
    with log_context(subject=subject):
        log.warning("malformed message ignored", reason=reason)


class BusFeeds:
    """`fenced` is set when a fenced mark is heard for the first time (a notice, or a slot
    read by some collector): a host said its VMs are dead, so the leader's next tick, which
    can declare it and restart them, is worth running at once."""

    def __init__(
        self, nc: Client, core: Arbiter, metrics: ArbiterMetrics, clock: Callable[[], float]
    ) -> None:
        self._nc, self._core, self._metrics, self._clock = nc, core, metrics, clock
        self._subs: list[Subscription] = []
        self.fenced = asyncio.Event()
        self._marks: set[tuple[str, str]] = set()  # (host, incarnation) marks heard
        self._forgery_logged: dict[tuple[str, str], float] = {}  # (observer, host): when

    async def subscribe(self) -> None:
        for pattern in INPUTS:
            self._subs.append(await self._nc.subscribe(pattern, cb=self._handler(pattern)))

    async def unsubscribe(self) -> None:
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs.clear()

    def _handler(self, pattern: str) -> Handler:
        kind = pattern.split(".")[1]  # "ha.hb.*" -> "hb"

        async def on_message(msg: Msg) -> None:
            try:
                message = decode_input(pattern, msg.subject, msg.data)
            except Malformed as exc:
                report_malformed(self._metrics, kind, msg.subject, str(exc))
                return
            self.feed(message, self._clock())

        return on_message

    def feed(self, message: object, now: float) -> None:
        core = self._core
        if isinstance(message, NetworkHeartbeat):
            core.heartbeat(message, now)
        elif isinstance(message, StoreObservation):
            core.store_observation(message, now)
            self._report_forgeries(now)
            for reading in message.readings:
                if reading.fenced:
                    self._mark(reading.host, reading.incarnation)
        elif isinstance(message, FencedNotice):
            core.fenced_notice(message, now)
            self._mark(message.host, message.incarnation)
        elif isinstance(message, JoinRequest):
            core.join_request(message, now)
        elif isinstance(message, HostReport):
            core.host_report(message, now)

    def _report_forgeries(self, now: float) -> None:
        """Count every forgery; log one line per (observer, host) per FORGERY_LOG_EVERY_S, so
        that a flood does not drown the log."""
        for f in self._core.take_forgeries():
            self._metrics.forgeries.labels(observer=f.observer).inc()
            last = self._forgery_logged.get((f.observer, f.host))
            if last is None or now - last >= FORGERY_LOG_EVERY_S:
                self._forgery_logged[(f.observer, f.host)] = now
                log.warning(
                    "forged store reading ignored",
                    observer=f.observer,
                    host=f.host,
                    why=f.why,
                )

    def _mark(self, host: str, incarnation: str) -> None:
        if (host, incarnation) not in self._marks:
            self._marks.add((host, incarnation))
            self.fenced.set()
