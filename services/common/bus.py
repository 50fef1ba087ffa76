"""Connecting to NATS the way every haplan process does.

Services reconnect forever: a NATS outage must not end a collector or the arbiter, only
pause them (their liveness rules handle the outage). When the connection is closed for good
(`close()`, or the server refusing us), `on_closed` runs so that the service stops cleanly
instead of hanging on a dead client. Commands instead give up after a short timeout with
`BusUnavailable`, so that the operator gets a one-line error.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.subscription import Subscription

from services.common.identity import identity, permission_refused, refusal
from services.common.logging import get_logger
from services.common.ratelimit import WarnLimiter
from services.common.servers import NextServer
from services.common.settings import BusSettings

log = get_logger("haplan.bus")

OnClosed = Callable[[], Awaitable[None]]

# Who hears of the messages nats-py drops because a subscription's pending limits are reached,
# per client: each part of a service that subscribes on it (services.arbiter.feeds counts them
# per host, services.collector.peers per peer) owns its subscriptions and no other's.
SlowConsumerHook = Callable[[Subscription, str], bool]
_slow_consumers: weakref.WeakKeyDictionary[Client, list[SlowConsumerHook]] = (
    weakref.WeakKeyDictionary()
)
# Otherwise a flood would make one log line per dropped message.
_slow_warnings = WarnLimiter()

# Hooks called after each reconnection, per client (on_reconnect), besides connect's own.
_reconnect_hooks: weakref.WeakKeyDictionary[Client, list[Callable[[], None]]] = (
    weakref.WeakKeyDictionary()
)

# The last publish or subscription the server refused, per client: a request nobody answered
# may have been refused, which the operator must hear instead of "nobody answers".
_refused: weakref.WeakKeyDictionary[Client, str] = weakref.WeakKeyDictionary()

__all__ = [
    "BusRefused",
    "BusUnavailable",
    "PingPolicy",
    "SlowConsumerHook",
    "connect",
    "identity",
    "on_reconnect",
    "on_slow_consumer",
    "refused",
    "stop_when_closed",
    "tune_pings",
]


@dataclass(frozen=True, slots=True)
class PingPolicy:
    """How a client notices a server that stopped answering (frozen, hung, cut without a
    reset): a PING every `interval_s`; more than `outstanding` unanswered ones close the
    connection as stale, and the client reconnects (docs/protocol.md, A hung server). A
    hung server is noticed between `outstanding` and `outstanding + 1` intervals after it
    stopped answering: `noticed_within_s`."""

    interval_s: float
    outstanding: int

    @classmethod
    def for_timeout(cls, timeout_s: float) -> PingPolicy:
        """Sized from the pool's T: a PING every T/10 and two unanswered ones allowed, so a
        hung server is noticed within 3 T/10 < T/3 and a PONG may be late by T/5. A PONG
        stuck behind a backlog (a flood being read) must not cost the connection either: at
        least PONG_SLACK_S of lateness is allowed, which keeps the T/3 bound for T >= 10 s."""
        interval = timeout_s / 10
        return cls(interval_s=interval, outstanding=max(2, math.ceil(PONG_SLACK_S / interval)))

    @property
    def noticed_within_s(self) -> float:
        return (self.outstanding + 1) * self.interval_s


# How late a PONG may be, at least, before the connection is given up.
PONG_SLACK_S = 2.0

# Before a service knows its pool's T: a hung server is noticed within 6 s, which is T/3 of
# the default T = 30 s, at the cost of one PING every 2 s.
STARTUP_PINGS = PingPolicy(interval_s=2.0, outstanding=2)


def tune_pings(nc: Client, policy: PingPolicy) -> None:
    """Apply `policy` to a connected client. nats-py reads both options at each PING, so the
    new interval applies from the next PING on (at most one startup interval away)."""
    nc.options["ping_interval"] = policy.interval_s
    nc.options["max_outstanding_pings"] = policy.outstanding


class BusUnavailable(ConnectionError):
    """NATS could not be reached; the message names the servers tried."""


class BusRefused(BusUnavailable):
    """NATS answered but refuses this process (credentials, TLS): retrying will not help.
    The message says what to check."""


def on_slow_consumer(nc: Client, hook: SlowConsumerHook) -> None:
    """Call `hook(subscription, subject)` for each message nats-py drops on `nc` because a
    subscription's pending limits were reached. The hook returns whether the subscription is
    its own (it counted the drop): a client has several subscriptions, and a part's count or
    warning must not take another part's drops for its own. Drops that no hook owns are
    logged (rate-limited). Registering a hook again does nothing."""
    hooks = _slow_consumers.setdefault(nc, [])
    if hook not in hooks:
        hooks.append(hook)


def on_reconnect(nc: Client, hook: Callable[[], None]) -> Callable[[], None]:
    """Call `hook()` after each reconnection of `nc` (a client made by `connect`), as nats-py
    reports it; the function returned removes it. For parts made after the connection, which
    cannot give `connect` their `on_reconnected`."""
    hooks = _reconnect_hooks.setdefault(nc, [])
    hooks.append(hook)

    def remove() -> None:
        with contextlib.suppress(ValueError):
            hooks.remove(hook)

    return remove


def refused(nc: Client) -> str | None:
    """What the server last refused this client (`Permissions Violation for Publish to
    "ha.evt.pool"`), or None."""
    return _refused.get(nc)


async def connect(
    settings: BusSettings,
    *,
    name: str,
    on_closed: OnClosed | None = None,
    initial_timeout_s: float | None = None,
    on_reconnected: Callable[[], None] | None = None,
    pings: PingPolicy = STARTUP_PINGS,
) -> Client:
    """A connected client that reconnects forever.

    `initial_timeout_s=None` waits for NATS however long it takes (services under a
    supervisor); a number bounds the first connection and raises BusUnavailable (commands).
    Either way a server that refuses our credentials or TLS raises BusRefused at once.
    `pings` says how soon a server that stopped answering is given up (services retune it
    with `tune_pings` once they know the pool's T); nats-py's default is 2 minutes.
    """
    connected_once = asyncio.Event()
    refusing: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def error_cb(exc: Exception) -> None:
        if isinstance(exc, nats.errors.SlowConsumerError):
            _slow_consumer(nc, exc.sub, exc.subject)
            return
        denied = permission_refused(exc)
        if denied is not None:
            _refused[nc] = denied
            # A service must show its misconfiguration; a command says it in its own error.
            say = log.warning if on_closed is not None else log.info
            say("nats refused a message or subscription", error=denied)
            return
        if not connected_once.is_set():
            why = refusal(exc, settings)
            if why is not None and not refusing.done():
                refusing.set_result(why)
        # Failed attempts before the first connection are the expected "not up yet".
        level = log.warning if connected_once.is_set() else log.debug
        level("nats error", error=str(exc) or type(exc).__name__)

    async def disconnected_cb() -> None:
        # close() also reports a disconnection; only an unplanned one is worth a warning.
        if connected_once.is_set() and not nc.is_closed:
            log.warning("nats disconnected; reconnecting")

    async def reconnected_cb() -> None:
        next_server.left = _netloc(nc)
        log.info(
            "nats reconnected", server=str(nc.connected_url.netloc if nc.connected_url else "")
        )
        if on_reconnected is not None:
            on_reconnected()
        for hook in list(_reconnect_hooks.get(nc, ())):
            hook()

    async def closed_cb() -> None:
        log.info("nats connection closed")
        if on_closed is not None:
            await on_closed()

    nc = Client()
    # Every reconnection tries the other servers before the one it left (a server that is up
    # but cut off from the cluster's leaders would otherwise be picked again).
    next_server = NextServer()
    attempt = asyncio.ensure_future(
        nc.connect(
            servers=settings.servers,
            name=name,
            max_reconnect_attempts=-1,
            # Typed int by nats-py but only ever slept on. Short, because after an outage of
            # every host the first to renew its lease ends the "global bus outage" of the
            # fencing table for the others: one that reconnects an interval later than its
            # peers fences, healthy as it is. A refused connect costs the server nothing.
            reconnect_time_wait=0.1,  # type: ignore[arg-type]
            connect_timeout=max(1, int(settings.connect_timeout_s)),
            # Typed int by nats-py but only ever slept on (as reconnect_time_wait).
            ping_interval=pings.interval_s,  # type: ignore[arg-type]
            max_outstanding_pings=pings.outstanding,
            error_cb=error_cb,
            disconnected_cb=disconnected_cb,
            reconnected_cb=reconnected_cb,
            closed_cb=closed_cb,
            reconnect_to_server_handler=next_server,
            **identity(settings),
        )
    )
    try:
        waits: set[asyncio.Future[Any]] = {attempt, refusing}
        done, _ = await asyncio.wait(
            waits, timeout=initial_timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
    except BaseException:  # the caller gave up (cancelled): leave no client trying
        await _give_up(attempt, nc)
        raise
    if attempt in done and attempt.exception() is None:
        connected_once.set()
        next_server.left = _netloc(nc)
        return nc
    if refusing.done():
        await _give_up(attempt, nc)
        raise BusRefused(refusing.result())
    if attempt not in done:
        await _give_up(attempt, nc)
        raise BusUnavailable(
            f"cannot reach NATS at {settings.nats_url} within {initial_timeout_s:g} s"
        )
    exc = attempt.exception()
    await _abandon(nc)
    if isinstance(exc, nats.errors.NoServersError | OSError | TimeoutError):
        raise BusUnavailable(f"cannot reach NATS at {settings.nats_url}") from None
    assert exc is not None
    raise exc


def _netloc(nc: Client) -> str | None:
    return nc.connected_url.netloc if nc.connected_url else None


def _slow_consumer(nc: Client, sub: Subscription, subject: str) -> None:
    # Every hook is asked (no short cut): each decides by itself what it owns.
    owned = [hook(sub, subject) for hook in _slow_consumers.get(nc, ())]
    if any(owned):
        return
    admitted, left_out = _slow_warnings.admit(subject, time.monotonic())
    if admitted:
        log.warning("messages dropped: they arrive faster than they are read",
                    subject=subject, left_out=left_out)  # fmt: skip


# A cancelled connect attempt is cancelled again this often until it ends (see _give_up), and
# left behind, its client closed, if it has not ended within GIVE_UP_WITHIN_S.
RECANCEL_EVERY_S = 0.2
GIVE_UP_WITHIN_S = 5.0


async def _give_up(attempt: asyncio.Future[None], nc: Client) -> None:
    """End the nats-py connect attempt and close its client, in bounded time.

    One cancel() does not always end the attempt, so it is repeated. On Python 3.11,
    asyncio.wait_for loses a cancellation that arrives in the loop iteration in which the
    future it waits for completed (asyncio/tasks.py, wait_for: `except CancelledError: if
    fut.done(): return fut.result()`, fixed in 3.12). nats-py 2.16 awaits each TCP connect in
    such a wait_for (nats/aio/transport.py, TcpTransport.connect); against a closed port that
    connect fails at once, so the attempt gets the ECONNREFUSED instead of the CancelledError,
    Client._select_next_server's `except Exception: ... continue` takes it as one more failed
    try, and with max_reconnect_attempts=-1 the attempt retries forever: a single
    `await attempt` then never returned (the CLI hung when NATS was down, in the starts
    whose timing, GC pauses included, put the cancel in that iteration)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GIVE_UP_WITHIN_S
    try:
        while not attempt.done():
            left = deadline - loop.time()
            if left <= 0:
                log.warning("a cancelled nats connect attempt did not end; left behind")
                break
            attempt.cancel()
            await asyncio.wait({attempt}, timeout=min(RECANCEL_EVERY_S, left))
        if attempt.done() and not attempt.cancelled():
            attempt.exception()  # retrieved: its failure is the caller's error already
    finally:
        await _abandon(nc)


async def _abandon(nc: Client) -> None:
    # A connect cancelled half-way may leave reader tasks behind; close() reaps them.
    try:
        await nc.close()
    except Exception as exc:
        log.debug("closing an unconnected client failed", error=str(exc))


def stop_when_closed(stop: asyncio.Event) -> OnClosed:
    """An `on_closed` that sets `stop`: the service's main loop waits on it and exits."""

    async def closed() -> None:
        stop.set()

    return closed
