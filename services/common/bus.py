"""Connecting to NATS the way every haplan process does.

Services reconnect forever: a NATS outage must not end a collector or the arbiter, only
pause them (their liveness rules handle the outage). When the connection is closed for good
(`close()`, or the server refusing us), `on_closed` runs so that the service stops cleanly
instead of hanging on a dead client. Commands instead give up after a short timeout with
`BusUnavailable`, so that the operator gets a one-line error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import nats
from nats.aio.client import Client

from services.common.logging import get_logger
from services.common.settings import BusSettings

log = get_logger("haplan.bus")

OnClosed = Callable[[], Awaitable[None]]


class BusUnavailable(ConnectionError):
    """NATS could not be reached; the message names the servers tried."""


async def connect(
    settings: BusSettings,
    *,
    name: str,
    on_closed: OnClosed | None = None,
    initial_timeout_s: float | None = None,
) -> Client:
    """A connected client that reconnects forever.

    `initial_timeout_s=None` waits for NATS however long it takes (services under a
    supervisor); a number bounds the first connection and raises BusUnavailable (commands).
    """
    connected_once = asyncio.Event()

    async def error_cb(exc: Exception) -> None:
        # Failed attempts before the first connection are the expected "not up yet".
        level = log.warning if connected_once.is_set() else log.debug
        level("nats error", error=str(exc) or type(exc).__name__)

    async def disconnected_cb() -> None:
        # close() also reports a disconnection; only an unplanned one is worth a warning.
        if connected_once.is_set() and not nc.is_closed:
            log.warning("nats disconnected; reconnecting")

    async def reconnected_cb() -> None:
        log.info(
            "nats reconnected", server=str(nc.connected_url.netloc if nc.connected_url else "")
        )

    async def closed_cb() -> None:
        log.info("nats connection closed")
        if on_closed is not None:
            await on_closed()

    nc = Client()
    attempt = nc.connect(
        servers=settings.servers,
        name=name,
        max_reconnect_attempts=-1,
        # Typed int by nats-py but only ever slept on: half a second keeps outages short.
        reconnect_time_wait=0.5,  # type: ignore[arg-type]
        connect_timeout=max(1, int(settings.connect_timeout_s)),
        error_cb=error_cb,
        disconnected_cb=disconnected_cb,
        reconnected_cb=reconnected_cb,
        closed_cb=closed_cb,
    )
    try:
        if initial_timeout_s is None:
            await attempt
        else:
            await asyncio.wait_for(attempt, initial_timeout_s)
    except (TimeoutError, nats.errors.NoServersError, OSError) as exc:
        await _abandon(nc)
        raise BusUnavailable(
            f"cannot reach NATS at {settings.nats_url}"
            + (f" within {initial_timeout_s:g} s" if isinstance(exc, TimeoutError) else "")
        ) from None
    connected_once.set()
    return nc


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
