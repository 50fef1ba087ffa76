"""The arbiter's IO edges besides the log: host leases watched in KV, and the status request
answered while leading."""

from __future__ import annotations

import asyncio
import contextlib
import json
from asyncio import FIRST_COMPLETED
from collections.abc import Callable
from typing import TYPE_CHECKING

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue

from services.arbiter.core import Arbiter
from services.arbiter.feeds import report_malformed
from services.arbiter.leases import HostLease, parse_host_lease
from services.arbiter.metrics import ArbiterMetrics
from services.arbiter.status import status_of
from services.arbiter.wire import STATUS, Malformed
from services.common.bus import on_reconnect
from services.common.lease_bucket import HOST_PREFIX
from services.common.logging import get_logger
from services.common.payload import TOO_LARGE, TOO_LARGE_HINT, MessageTooLarge, check_size
from services.common.subjects import decode_token

if TYPE_CHECKING:
    from services.arbiter.parts import ArbiterParts

log = get_logger("haplan.arbiter")

# The pause before watching again after a watch that ended by itself or a refused watch.
RETRY_S = 0.25
# How often a quiet watch checks whether it has been silent too long.
SILENCE_CHECK_S = 0.25


class LeaseWatch:
    """Host leases as the KV bucket records them: every renewal goes to the core with the
    time it arrived (the core ignores it unless leading). What the bucket held before the
    watch started is remembered (its revisions are needed to revoke) but is no renewal.

    After a reconnection (the client's reconnected hook, services.common.bus.on_reconnect)
    the watch starts again at once: a server that restarted has lost the watch's consumer
    (an ordered consumer lives in memory), and the client would notice only after two missed
    idle heartbeats, 10 s, in which a new leader hears no renewal and suspects every host.
    For the same reason a watch that hears nothing for `silence_s` starts again too: the
    bucket's leader lost without a reconnection of this client (its node cut off or isolated
    while ours stays up) takes the watch's consumer with it, and the watch says nothing
    (docs/protocol.md, NATS cluster faults). Collectors renew every interval, so a few
    intervals of silence means the watch, not every host, went quiet."""

    def __init__(
        self,
        nc: Client,
        kv: KeyValue,
        core: Arbiter,
        metrics: ArbiterMetrics,
        clock: Callable[[], float],
        silence_s: float = float("inf"),
    ) -> None:
        self._nc, self.kv, self._core, self._metrics, self._clock = nc, kv, core, metrics, clock
        self._current: dict[str, HostLease] = {}
        self._task: asyncio.Task[None] | None = None
        self._reconnected = asyncio.Event()
        self._unhook: Callable[[], None] | None = None
        self._silence_s = silence_s
        self._heard = clock()  # the last entry of the watch, or its start
        self._said_silent = False

    def current(self, host: str) -> HostLease | None:
        return self._current.get(host)

    async def start(self) -> None:
        """Watch from now on; the first watch is open when this returns. May be called
        again after it raised (the bus did not answer): the hook is set once."""
        if self._unhook is None:
            self._unhook = on_reconnect(self._nc, self._reconnected.set)
        watcher = await self.kv.watch(HOST_PREFIX + "*")
        self._task = asyncio.create_task(self._run(watcher), name="host leases")

    async def stop(self) -> None:
        if self._unhook is not None:
            self._unhook()
            self._unhook = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self, watcher: KeyValue.KeyWatcher) -> None:
        while True:
            self._heard = self._clock()
            following = asyncio.create_task(self._follow(watcher), name="host lease watch")
            reconnection = asyncio.create_task(self._reconnected.wait(), name="reconnected")
            try:
                while not (following.done() or reconnection.done() or self._silent()):
                    await asyncio.wait(
                        {following, reconnection}, timeout=SILENCE_CHECK_S,
                        return_when=FIRST_COMPLETED,
                    )  # fmt: skip
            finally:
                for task in (reconnection, following):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
                with contextlib.suppress(Exception):
                    await watcher.stop()  # type: ignore[no-untyped-call]
            if self._reconnected.is_set():
                log.info("reconnected: watching host leases again")
            elif self._silent():
                if not self._said_silent:  # once until the watch is heard again
                    log.warning("the host lease watch went silent: watching again",
                                silent_s=round(self._clock() - self._heard, 1))  # fmt: skip
                    self._said_silent = True
            else:  # the watch ended by itself: a bug or a refusal, said and retried
                failed = following.cancelled() or following.exception()
                log.warning("the host lease watch ended; watching again", error=repr(failed))
                await asyncio.sleep(RETRY_S)
            # Cleared before the new watch: a reconnection during it restarts it once more.
            self._reconnected.clear()
            watcher = await self._rewatch()

    async def _rewatch(self) -> KeyValue.KeyWatcher:
        """A new watch, retried while JetStream does not answer yet (a restarted server
        recovering its streams, a cluster electing leaders)."""
        while True:
            try:
                return await self.kv.watch(HOST_PREFIX + "*")
            except (nats.errors.Error, TimeoutError, OSError) as exc:
                log.debug("cannot watch host leases yet; retrying", error=repr(exc))
                await asyncio.sleep(RETRY_S)

    def _silent(self) -> bool:
        return self._clock() - self._heard > self._silence_s

    async def _follow(self, watcher: KeyValue.KeyWatcher) -> None:
        live = False
        async for entry in watcher:
            self._heard = self._clock()
            self._said_silent = False
            if entry is None:
                live = True  # what follows was written after the watch started
                continue
            self.seen(entry, renewal=live)

    def seen(self, entry: KeyValue.Entry, *, renewal: bool) -> None:
        key = entry.key
        if entry.operation in (KV_DEL, KV_PURGE):
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                self._current.pop(decode_token(key.removeprefix(HOST_PREFIX)), None)
            return
        try:
            lease = parse_host_lease(key, entry.value, entry.revision or 0)
        except Malformed as exc:
            report_malformed(self._metrics, "lease", f"KV {key}", str(exc))
            return
        self._current[lease.host] = lease
        if renewal:
            self._core.lease_renewed(lease.host, lease.incarnation, self._clock())


class StatusReplies:
    """`ha.op.status`, subscribed while leading only: no answer means no leader."""

    def __init__(self, service: ArbiterParts) -> None:
        self._svc = service
        self._sub: Subscription | None = None

    async def start(self) -> None:
        if self._sub is None:
            self._sub = await self._svc.nc.subscribe(STATUS, cb=self._answer)

    async def stop(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _answer(self, msg: Msg) -> None:
        svc = self._svc
        if not svc.leading:
            return
        if not msg.reply:
            report_malformed(svc.metrics, "op", msg.subject, "a status request needs a reply")
            return
        body = msg.data.strip()
        if body:
            try:
                request = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                request = None
            if not isinstance(request, dict):
                report_malformed(svc.metrics, "op", msg.subject, "the body is not a JSON object")
                await msg.respond(
                    json.dumps(
                        {
                            "ok": False,
                            "error": "the status request is not a JSON object",
                            "hint": "send an empty body or {}",
                        }
                    ).encode()
                )
                return
        core = svc.core
        fenced = [h for h, rec in core.view.hosts.items() if rec.fenced or rec.dead]
        answer = status_of(
            svc.view.state, svc.ident, core.liveset(svc.clock()), core.reported, fenced
        )
        data = json.dumps(answer).encode()
        try:
            check_size(svc.nc, f"the answer of {msg.subject}", data)
        except MessageTooLarge as exc:
            # Sent as is, the server would refuse it and the asker would wait for nothing.
            log.warning("status answer too large", error=str(exc))
            refusal = {"ok": False, "error": str(exc), "code": TOO_LARGE, "hint": TOO_LARGE_HINT}
            data = json.dumps(refusal).encode()
        await msg.respond(data)
