"""What the collector hears: peers' heartbeats, the leader's beacons, its commands, and status
requests. Each message is checked (services.collector.wire) before the core sees it; a bad one
is logged with its subject and reason, counted, and dropped, and nothing a sender does can
raise out of a handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from nats.aio.client import Client
from nats.aio.msg import Msg

from schemas.messages import JoinAccepted, StartOrder
from schemas.reports import StopOrder
from services.collector import wire
from services.collector.core import Phase
from services.collector.peers import PeerHeartbeats
from services.common.logging import get_logger, log_context
from services.common.ratelimit import WarnLimiter

if TYPE_CHECKING:
    from services.collector.parts import CollectorParts

log = get_logger("haplan.collector")

Handler = Callable[[Msg], Awaitable[None]]


class Inbound:
    def __init__(self, nc: Client, shell: CollectorParts, pool: frozenset[str]) -> None:
        self._nc, self._shell = nc, shell
        self.pool = pool  # hosts whose heartbeats and slots count
        self._subs: list[Any] = []
        self._stops: set[asyncio.Task[None]] = set()
        self._warnings = WarnLimiter()
        # Peers' heartbeats, one subscription each (services.collector.peers).
        self.peers = PeerHeartbeats(
            nc, pool - {shell.host}, self._peer_heartbeat, self._bad_heartbeat,
            mute_for_s=shell.core.timers.timeout_s,
        )  # fmt: skip

    async def subscribe(self) -> None:
        host = self._shell.host
        await self.peers.start()
        for subject, pattern, handler in (
            (wire.BEACON, wire.BEACON, self._beacon),
            (wire.command_subject(host), "ha.cmd.<host>", self._command),
            (wire.status_subject(host), "ha.status.<host>", self._status),
        ):
            self._subs.append(await self._nc.subscribe(subject, cb=self._guarded(pattern, handler)))

    async def unsubscribe(self) -> None:
        await self.peers.stop()
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs.clear()

    def _guarded(self, pattern: str, handler: Handler) -> Handler:
        async def guarded(msg: Msg) -> None:
            try:
                await handler(msg)
            except wire.Malformed as exc:
                self._malformed(pattern, msg.subject, str(exc))
            except Exception as exc:
                # A bug, not the sender's fault; still never the end of the collector.
                with log_context(subject=msg.subject):
                    log.error("message handling failed", error=repr(exc))

        return guarded

    def _malformed(self, pattern: str, subject: str, reason: str) -> None:
        self._shell.metrics.malformed.labels(pattern).inc()
        # At most one line per sender (subject) and window: a flood is counted, not copied
        # into the log.
        admitted, left_out = self._warnings.admit(subject, time.monotonic())
        if admitted:
            with log_context(subject=subject):
                log.warning("malformed message dropped", reason=reason, left_out=left_out)

    def _bad_heartbeat(self, msg: Msg, reason: str) -> None:
        self._malformed(wire.HEARTBEATS, msg.subject, reason)

    def _peer_heartbeat(self, subject: str, data: bytes) -> None:
        try:
            hb = wire.decode_heartbeat(subject, data, self.pool)
        except wire.Malformed as exc:
            self._malformed(wire.HEARTBEATS, subject, str(exc))
            return
        self._shell.core.heard(time.monotonic(), hb)

    async def _beacon(self, msg: Msg) -> None:
        self._shell.core.beacon(wire.decode_beacon(msg.data))

    async def _command(self, msg: Msg) -> None:
        command = wire.decode_order(msg.data, self._shell.host)
        core = self._shell.core
        if isinstance(command, JoinAccepted):
            was = core.phase
            core.join_accepted(command)
            if was is Phase.JOINING and core.phase is Phase.MEMBER:
                log.info("joined the liveset", incarnation=core.incarnation)
            return
        if command.incarnation != core.incarnation:
            # Orders belong to one incarnation (DESIGN.md): an earlier one's are void.
            log.info("order for another incarnation ignored", vm=command.vm,
                     order_id=command.order_id, incarnation=command.incarnation)  # fmt: skip
            return
        if isinstance(command, StartOrder):
            core.order(command)  # carried out right after the next "stay" verdict,
            self._shell.nudged.set()  # which is due now
        elif isinstance(command, StopOrder):
            log.info("admin shutdown of a VM", vm=command.vm, order_id=command.order_id)
            # Stopping takes a grace period; the subscription must not wait for it.
            task = asyncio.create_task(self._shell.vms.shutdown(command.vm))
            self._stops.add(task)
            task.add_done_callback(self._stops.discard)

    async def _status(self, msg: Msg) -> None:
        report = self._shell.out.last_report
        if msg.reply and report is not None:
            await msg.respond(report.model_dump_json().encode())
